// The Unity glue, compiled against the UnityEngine stub: CadenzaMusic's messages
// (Awake, OnEnable, OnAudioFilterRead ...) are sent by reflection, the way Unity sends
// them, and its audio output is checked sample by sample.

using System;
using System.Reflection;
using Cadenza.Unity;
using UnityEngine;
using UnityEngineStub;

namespace Cadenza.Tests
{
    public class GlueTests
    {
        internal static CadenzaMusic NewMusic(int outputRate, bool playOnEnable)
        {
            Stub.OutputSampleRate = outputRate;
            var go = new GameObject("Music");
            go.SetActive(false);  // set the inspector fields before Awake, as a scene file would
            var music = go.AddComponent<CadenzaMusic>();
            music.playOnEnable = playOnEnable;
            music.logEvents = false;
            go.SetActive(true);
            return music;
        }

        internal static void UsePlayout(CadenzaMusic music, AudioPlayout playout)
        {
            FieldInfo f = typeof(CadenzaMusic).GetField("playout", BindingFlags.Instance | BindingFlags.NonPublic);
            Assert.True(f != null, "CadenzaMusic keeps its AudioPlayout in a field named playout");
            f.SetValue(music, playout);
        }

        internal static float[] FilterRead(CadenzaMusic music, int frames, int channels)
        {
            var data = new float[frames * channels];
            for (int i = 0; i < data.Length; i++) data[i] = 0.3f;  // whatever the source held
            Assert.True(Stub.Send(music, "OnAudioFilterRead", data, channels), "OnAudioFilterRead exists");
            return data;
        }

        [Test]
        public void AddsAnAudioSourceAndWritesSilenceWhenNotConnected()
        {
            var music = NewMusic(48000, false);
            Assert.True(music.GetComponent<AudioSource>() != null, "RequireComponent(AudioSource)");
            float[] out1 = FilterRead(music, 512, 2);
            Assert.True(Array.TrueForAll(out1, v => v == 0f), "silence, not the source's leftovers");
            music.SetState("danger", 0.5f);  // no connection: ignored, no exception
            music.Pause();
            music.Reset();
            Stub.Send(music, "OnDestroy");
        }

        [Test]
        public void OnAudioFilterReadResamplesTheStreamTo44100()
        {
            var music = NewMusic(44100, false);
            var playout = new AudioPlayout(PlayoutTests.Sine(1000, 48000)) { PrebufferFrames = 1, FadeFrames = 1 };
            UsePlayout(music, playout);
            var left = new float[22 * 1024];
            for (int done = 0; done < left.Length; done += 1024)
            {
                float[] block = FilterRead(music, 1024, 2);
                for (int j = 0; j < 1024 && done + j < left.Length; j++) left[done + j] = block[2 * j];
            }
            double worst = 0;
            for (int i = 0; i < left.Length; i++)
                worst = Math.Max(worst, Math.Abs(left[i] - 0.5 * Math.Sin(2 * Math.PI * 1000 * i / 44100.0)));
            Assert.True(worst < 0.005, "a 1 kHz sine at 44.1 kHz, max error " + worst);
            Assert.Near(22 * 1024 * 48000.0 / 44100, playout.Playhead, 2, "the 48 kHz stream consumed at its rate");
            Stub.Send(music, "OnDestroy");
        }

        [Test]
        public void FollowsAnOutputRateChange()
        {
            var music = NewMusic(44100, false);
            var ring = new AudioRingBuffer(8192);
            var data = new float[2 * 4000];
            for (int i = 0; i < 4000; i++) data[2 * i] = data[2 * i + 1] = (i % 100) / 100f;
            ring.Write(data, 4000, 2, 0);
            UsePlayout(music, new AudioPlayout(ring) { PrebufferFrames = 1, FadeFrames = 1 });
            Stub.SetOutputSampleRate(48000, true);
            float[] block = FilterRead(music, 256, 2);
            for (int j = 1; j < 256; j++) Assert.Equal(data[2 * j], block[2 * j], "48 kHz out is the stream itself");
            Stub.Send(music, "OnDestroy");
        }

        [Test]
        public void FadesOutOnUnderrunThroughOnAudioFilterRead()
        {
            var music = NewMusic(44100, false);
            var ring = new AudioRingBuffer(8192);
            var data = new float[2 * 3000];
            for (int i = 0; i < data.Length; i++) data[i] = 0.6f;
            ring.Write(data, 3000, 2, 0);
            var playout = new AudioPlayout(ring) { PrebufferFrames = 1000, FadeFrames = 220 };
            UsePlayout(music, playout);
            var left = new float[4 * 1024];
            for (int b = 0; b < 4; b++)
            {
                float[] block = FilterRead(music, 1024, 2);
                for (int j = 0; j < 1024; j++) left[b * 1024 + j] = block[2 * j];
            }
            Assert.Equal(1L, playout.Underruns, "the ring ran dry once");
            double maxStep = 0;
            for (int i = 1; i < left.Length; i++) maxStep = Math.Max(maxStep, Math.Abs(left[i] - left[i - 1]));
            Assert.True(maxStep <= 0.6 / 220 + 1e-5, "no click: largest step " + maxStep);
            int end = left.Length - 1;
            while (end > 0 && left[end] == 0f) end--;
            Assert.True(end > 2700 && end < left.Length - 200, "silent after the tail (last sound at " + end + ")");
            Assert.Near(0.6 / 220, left[end], 1e-4, "the tail ends one step above zero");
            Stub.Send(music, "OnDestroy");
        }
    }
}
