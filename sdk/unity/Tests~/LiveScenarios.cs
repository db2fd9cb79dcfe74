// Live scenarios against a real `cadenza serve`, run by tests/sdk/unity/. They observe
// and report (report.json, PCM files); the Python tests make the assertions, so that
// the C# client and the Python SDK are judged by the same code.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Cadenza.Unity;
using UnityEngine;
using UnityEngineStub;

namespace Cadenza.Tests
{
    /// <summary>A pretend sound card: calls render(block) every block/rate seconds on its
    /// own thread, on absolute deadlines (no drift).</summary>
    public sealed class PacedAudio
    {
        readonly Action<float[]> render;
        readonly int rate;
        readonly float[] block;
        readonly Thread thread;
        volatile bool running = true;
        public readonly Stopwatch Clock = Stopwatch.StartNew();

        public PacedAudio(Action<float[]> render, int rate, int frames, int channels)
        {
            this.render = render;
            this.rate = rate;
            block = new float[frames * channels];
            thread = new Thread(Run) { IsBackground = true, Name = "paced-audio", Priority = ThreadPriority.Highest };
        }

        /// <summary>Seconds of audio rendered so far.</summary>
        public double Rendered;

        public void Start() { thread.Start(); }

        public void Stop()
        {
            running = false;
            thread.Join();
        }

        void Run()
        {
            int frames = block.Length / 2;
            double period = (double)frames / rate;
            double next = Clock.Elapsed.TotalSeconds;
            while (running)
            {
                render(block);
                Rendered += period;
                next += period;
                double wait = next - Clock.Elapsed.TotalSeconds;
                if (wait > 0) Thread.Sleep(TimeSpan.FromSeconds(wait));
            }
        }
    }

    public static class LiveScenarios
    {
        /// <summary>Streams a session through CadenzaClient and an AudioPlayout driven by a
        /// paced 48 kHz "sound card"; optionally pushes a burst of state updates.</summary>
        public static int Stream(Args args)
        {
            string outDir = args.Require("out");
            Directory.CreateDirectory(outDir);
            double seconds = args.Number("seconds", 4);
            double updateAt = args.Number("update-at", -1);
            var update = args.Values("update");
            int burst = (int)args.Number("burst", 30);
            var options = new CadenzaClientOptions
            {
                Url = args.Require("url"), Token = args.Get("token"), Scene = args.Get("scene", "dungeon"),
                Seed = (long)args.Number("seed", -1), InitialState = args.Values("state"),
                Encoding = args.Get("encoding", "s16le") == "f32le" ? PcmEncoding.F32LE : PcmEncoding.S16LE,
                MaxStateUpdatesPerSecond = args.Number("rate", 20), ReconnectMaxDelaySeconds = 0.5,
            };
            var client = new CadenzaClient(options);
            var playout = new AudioPlayout(client.Audio) { PrebufferFrames = 4800 };
            var gate = new object();
            var frames = new List<object>();
            var blends = new List<object>();
            var errors = new List<object>();
            var eventKinds = new List<object>();
            var sessions = new List<object>();
            var received = new BinaryWriter(File.Create(Path.Combine(outDir, "received.f32")));
            var rendered = new BinaryWriter(File.Create(Path.Combine(outDir, "rendered.f32")));
            int acks = 0;
            bool closed = false;

            client.OnAudioFrame = (h, pcm) =>
            {
                lock (gate)
                {
                    if (closed) return;
                    frames.Add(new List<object> { h.Seq, h.StreamTime, h.Frames });
                    for (int i = 0; i < h.Frames * h.Channels; i++) received.Write(pcm[i]);
                }
            };
            client.OnEvent = e =>
            {
                lock (gate)
                {
                    eventKinds.Add(e.Kind == CadenzaEventKind.ServerEvent ? "event:" + e.Text : e.Kind.ToString());
                    if (e.Kind == CadenzaEventKind.Blend) blends.Add(BlendJson(e.Blend));
                    if (e.Kind == CadenzaEventKind.Ack) acks++;
                    if (e.Kind == CadenzaEventKind.Session) sessions.Add(e.Session.SessionId);
                    if (e.Kind == CadenzaEventKind.Error)
                    {
                        var err = new Dictionary<string, object>();
                        err["code"] = e.Error.Code;
                        err["message"] = e.Error.Message;
                        err["field"] = e.Error.Field;
                        err["fatal"] = e.Fatal;
                        errors.Add(err);
                    }
                }
            };
            var audio = new PacedAudio(block =>
            {
                playout.Render(block, 2, 48000);
                lock (gate) foreach (float v in block) rendered.Write(v);
            }, 48000, 480, 2);

            client.Start();
            audio.Start();
            var clock = Stopwatch.StartNew();
            double timeout = seconds * 3 + 10;
            int setCalls = 0;
            long updateStreamTime = -1;
            while (client.FramesReceived < seconds * 48000 && clock.Elapsed.TotalSeconds < timeout && !client.IsFinished)
            {
                if (updateAt >= 0 && updateStreamTime < 0 && client.FramesReceived >= updateAt * 48000)
                {
                    updateStreamTime = client.FramesReceived;
                    // A game setting its inputs every frame: many calls, few messages.
                    for (int i = 1; i <= burst; i++)
                    {
                        foreach (var kv in update)
                        {
                            object value = kv.Value is float ? (object)((float)kv.Value * i / burst) : kv.Value;
                            client.SetState(kv.Key, value);
                            setCalls++;
                        }
                        Thread.Sleep(10);
                    }
                }
                Thread.Sleep(5);
            }
            Thread.Sleep(300);  // let the last acks and rendered blocks arrive
            audio.Stop();
            bool finished = client.IsFinished;
            client.Dispose();
            var report = new Dictionary<string, object>();
            lock (gate)
            {
                closed = true;
                received.Close();
                rendered.Close();
                report["frames"] = frames;
                report["blends"] = blends;
                report["errors"] = errors;
                report["events"] = eventKinds;
                report["sessions"] = sessions;
                report["acks"] = acks;
            }
            report["set_calls"] = setCalls;
            report["merged"] = client.StateUpdates.Merged;
            report["update_stream_time"] = updateStreamTime;
            report["reconnects"] = client.Reconnects;
            report["duplicates"] = client.Duplicates;
            report["seq_gaps"] = client.SeqGaps;
            report["ring_gaps"] = client.Audio.Gaps;
            report["dropped"] = client.Audio.DroppedFrames;
            report["underruns"] = playout.Underruns;
            report["rendered_frames"] = playout.RenderedFrames;
            report["finished"] = finished;
            File.WriteAllText(Path.Combine(outDir, "report.json"), Json.Write(report));
            Console.WriteLine("streamed " + client.FramesReceived + " frames in " + client.ChunksReceived + " chunks");
            return 0;
        }

        static Dictionary<string, object> BlendJson(Blend b)
        {
            var weights = new Dictionary<string, object>();
            foreach (var e in b.Entries) weights[e.Name] = e.Weight;
            var j = new Dictionary<string, object>();
            j["seq"] = b.Seq;
            j["stream_time"] = b.StreamTime;
            j["weights"] = weights;
            return j;
        }

        /// <summary>Drives the CadenzaMusic component the way Unity would: Update on a
        /// "main thread" at 60 Hz, OnAudioFilterRead on a paced "audio thread" at the
        /// output rate, then a drain (rendering faster than real time) that must end in
        /// a fade, not a click.</summary>
        public static int Glue(Args args)
        {
            string outDir = args.Require("out");
            Directory.CreateDirectory(outDir);
            int rate = (int)args.Number("rate", 44100);
            double seconds = args.Number("seconds", 4.5);
            double updateAt = args.Number("update-at", 1.5);
            var update = args.Values("update");

            Stub.OutputSampleRate = rate;
            var go = new GameObject("Music");
            go.SetActive(false);
            var music = go.AddComponent<CadenzaMusic>();
            music.address = args.Require("url");
            music.scene = args.Get("scene", "minimal");
            music.seed = (int)args.Number("seed", -1);
            music.logEvents = false;
            var gate = new object();
            var heard = new List<object>();
            var errors = new List<object>();
            var sessions = new List<object>();
            var left = new List<float>();
            PacedAudio audio = null;
            music.BlendChanged += b =>
            {
                var j = BlendJson(b);
                j["playhead"] = music.Playout.Playhead;
                heard.Add(j);
            };
            music.ErrorReceived += e => errors.Add(e.ToString());
            music.SessionStarted += s => sessions.Add(s.SessionId);
            go.SetActive(true);  // OnEnable → Connect

            audio = new PacedAudio(block =>
            {
                Stub.Send(music, "OnAudioFilterRead", block, 2);
                lock (gate) for (int j = 0; j < block.Length; j += 2) left.Add(block[j]);
            }, rate, 1024, 2);
            audio.Start();
            Stub.Send(music, "Start");
            var clock = Stopwatch.StartNew();
            bool updated = false;
            double updateEnd = -1;
            while (audio.Rendered < seconds && clock.Elapsed.TotalSeconds < seconds * 3 + 10)
            {
                Stub.Time = (float)clock.Elapsed.TotalSeconds;
                Stub.Send(music, "Update");
                if (!updated && audio.Rendered >= updateAt)
                {
                    updated = true;
                    updateEnd = audio.Rendered + 0.5;
                }
                if (updated && audio.Rendered < updateEnd)
                    foreach (var kv in update) music.SetState(kv.Key, (float)kv.Value);  // every frame
                Thread.Sleep(16);
            }
            audio.Stop();
            Stub.Send(music, "Update");

            // Drain: the audio thread outruns the network until the buffer runs dry.
            long before = music.Playout.Underruns;
            var drain = new List<float>();
            var block2 = new float[1024 * 2];
            int after = -1;
            for (int b = 0; b < 2000 && (after < 0 || b < after + 3); b++)
            {
                Stub.Send(music, "OnAudioFilterRead", block2, 2);
                for (int j = 0; j < block2.Length; j += 2) drain.Add(block2[j]);
                if (after < 0 && music.Playout.Underruns > before) after = b;
            }

            var report = new Dictionary<string, object>();
            report["heard"] = heard;
            report["errors"] = errors;
            report["sessions"] = sessions;
            report["rate"] = rate;
            report["fade_frames"] = music.Playout.FadeFrames;
            report["underruns_paced"] = before;
            report["underruns_drain"] = music.Playout.Underruns - before;
            report["rendered_frames"] = music.Playout.RenderedFrames;
            report["playhead"] = music.Playout.Playhead;
            report["frames_received"] = music.Client.FramesReceived;
            report["merged"] = music.Client.StateUpdates.Merged;
            report["drain_tail"] = drain.GetRange(Math.Max(0, drain.Count - 4096), Math.Min(4096, drain.Count));
            lock (gate) WriteFloats(Path.Combine(outDir, "left.f32"), left);
            File.WriteAllText(Path.Combine(outDir, "report.json"), Json.Write(report));
            Stub.Send(music, "OnDisable");
            Stub.Send(music, "OnDestroy");
            Console.WriteLine("glue: " + heard.Count + " blends heard, " + left.Count + " frames rendered");
            return 0;
        }

        static void WriteFloats(string path, List<float> values)
        {
            using (var w = new BinaryWriter(File.Create(path)))
                foreach (float v in values) w.Write(v);
        }
    }
}
