// The cross-client conformance scenario, through the CadenzaMusic component as a game uses
// it: create -> state -> prompts -> config -> trigger -> beat events -> pause/play -> stop.
// Update runs on this thread ("main thread") at 60 Hz, OnAudioFilterRead on a paced
// "audio thread" that also advances the stub's AudioSettings.dspTime. It observes and
// writes report.json; tests/sdk/unity/test_unity_conformance.py makes the assertions.

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
    public static class Conformance
    {
        sealed class Scenario
        {
            public CadenzaMusic Music;
            public PacedAudio Audio;
            public readonly Stopwatch Clock = Stopwatch.StartNew();
            public readonly List<string> Steps = new List<string>();

            /// <summary>Pumps Update at 60 Hz until done() or the timeout; records the step.</summary>
            public bool Until(string step, Func<bool> done, double timeoutSeconds)
            {
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed.TotalSeconds < timeoutSeconds)
                {
                    Stub.Time = (float)Clock.Elapsed.TotalSeconds;
                    Stub.Send(Music, "Update");
                    if (done()) { Steps.Add(step + ": ok"); return true; }
                    Thread.Sleep(16);
                }
                Steps.Add(step + ": timed out");
                return false;
            }

            /// <summary>Pumps Update at 60 Hz for a while (no step recorded).</summary>
            public void Pump(double seconds)
            {
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed.TotalSeconds < seconds)
                {
                    Stub.Time = (float)Clock.Elapsed.TotalSeconds;
                    Stub.Send(Music, "Update");
                    Thread.Sleep(16);
                }
            }
        }

        public static int Run(Args args)
        {
            string outDir = args.Require("out");
            Directory.CreateDirectory(outDir);
            const int rate = 48000;
            Stub.OutputSampleRate = rate;
            Stub.DspTime = 0;
            var go = new GameObject("Music");
            go.SetActive(false);
            var music = go.AddComponent<CadenzaMusic>();
            music.address = args.Require("url");
            music.scene = args.Get("scene", "dungeon");
            music.seed = (int)args.Number("seed", 7);
            music.logEvents = false;
            music.beatEvents = BeatEvents.Beats;
            music.beatLeadSeconds = 0.1f;

            var lockObj = new object();
            var frames = new List<object>();
            var heard = new List<object>();
            var errors = new List<object>();
            var acks = new Dictionary<string, object>();
            var stingers = new List<object>();
            var states = new List<object>();
            var beats = new List<object>();
            var bars = new List<object>();
            var sessions = new List<object>();
            long renderedFrames = 0;
            double nonSilent = 0;
            music.SessionStarted += s => sessions.Add(s.SessionId);
            music.BlendChanged += b =>
            {
                var j = new Dictionary<string, object>();
                foreach (var e in b.Entries) j[e.Text] = e.Weight;
                heard.Add(j);
            };
            music.ErrorReceived += e =>
            {
                var j = new Dictionary<string, object>();
                j["id"] = e.Id; j["code"] = e.Code; j["field"] = e.Field; j["message"] = e.Message;
                errors.Add(j);
            };
            music.RequestAcked += (id, m) => acks[id.ToString()] = m.Raw;
            music.StingerScheduled += s =>
            {
                var j = new Dictionary<string, object>();
                j["stinger"] = s.Name; j["status"] = s.Status; j["at"] = s.At;
                stingers.Add(j);
            };
            music.ServerEventReceived += m =>
            {
                if (m.EventKind == "state_changed") states.Add(Json.GetString(m.Raw, "state", ""));
            };
            music.OnBeat.AddListener(b => beats.Add(BeatJson(b)));
            music.OnBar.AddListener(b => bars.Add(BeatJson(b)));

            go.SetActive(true);  // OnEnable -> Connect
            music.Client.OnAudioFrame += (h, pcm) =>
            {
                lock (lockObj)
                    frames.Add(new List<object> { h.Seq, h.StreamTime, h.Frames, h.HasClock ? h.Bpm : -1f });
            };
            var run = new Scenario { Music = music };
            run.Audio = new PacedAudio(block =>
            {
                Stub.Send(music, "OnAudioFilterRead", block, 2);
                Interlocked.Add(ref renderedFrames, block.Length / 2);
                Stub.DspTime = Interlocked.Read(ref renderedFrames) / (double)rate;  // the next callback's start
                for (int i = 0; i < block.Length; i += 2)
                    if (Math.Abs(block[i]) > 1e-4f) nonSilent += 1;
            }, rate, 1024, 2);
            run.Audio.Start();
            Func<int> frameCount = () => { lock (lockObj) return frames.Count; };
            Func<float> lastBpm = () =>
            {
                lock (lockObj) return frames.Count == 0 ? -1f : (float)((List<object>)frames[frames.Count - 1])[3];
            };

            // create: the session starts and the music is heard
            run.Until("create", () => sessions.Count == 1 && nonSilent > rate, 10);

            // state: danger 0.9 enters combat
            music.SetState("danger", 0.9f);
            run.Until("state", () => heard.Exists(h => ((Dictionary<string, object>)h)
                .ContainsKey("fast aggressive drums, distorted bass, metal")), 10);
            music.SetState("danger", 7f);  // out of range: an error naming danger

            // prompts: a direct prompt, then back to the scene
            var prompts = new Dictionary<string, float>();
            prompts["dark techno"] = 1f;
            music.SetPrompts(prompts);
            run.Until("prompts", () => heard.Exists(h => ((Dictionary<string, object>)h).ContainsKey("dark techno")), 10);
            music.ClearPrompts();
            run.Pump(1.0);
            float sceneBpm = lastBpm();  // the scene's tempo for this state, before the live override

            // config: a live bpm moves the beat clock; a bad one is refused; clear hands back
            long configId = music.SetGenerationConfig(new GenerationConfig { Bpm = 100, MuteDrums = true });
            run.Until("config", () => acks.ContainsKey(configId.ToString()) && Math.Abs(lastBpm() - 100f) < 2f, 10);
            long badConfigId = music.SetGenerationConfig(new GenerationConfig { Bpm = 5000 });
            long clearId = music.ClearGenerationConfig();
            run.Until("config cleared", () => acks.ContainsKey(clearId.ToString()) &&
                                              Math.Abs(lastBpm() - sceneBpm) < 0.5f, 10);

            // trigger: a stinger is scheduled; an unknown one is an error naming stinger
            long triggerId = music.Trigger("hit");
            long badTriggerId = music.Trigger("nope");
            run.Until("trigger", () => stingers.Count > 0 && errors.Count >= 3, 10);

            // beat events on the main thread, with their DSP time
            int beatsBefore = beats.Count;
            run.Until("beats", () => beats.Count >= beatsBefore + 4 && bars.Count >= 1, 10);

            // pause / play
            music.Pause();
            run.Until("pause", () => states.Contains("paused"), 5);
            int pausedFrames = frameCount();
            run.Pump(0.6);
            int framesWhilePaused = frameCount() - pausedFrames;
            music.Play();
            run.Until("play", () => states.Count > 0 && (string)states[states.Count - 1] == "playing"
                                    && frameCount() > pausedFrames + framesWhilePaused + 10, 5);

            // stop: the session ends
            music.Stop();
            bool stopped = music.Client == null;
            run.Audio.Stop();

            var report = new Dictionary<string, object>();
            report["steps"] = run.Steps;
            report["sessions"] = sessions;
            report["heard"] = heard;
            report["errors"] = errors;
            report["acks"] = acks;
            report["stingers"] = stingers;
            report["states"] = states;
            report["beats"] = beats;
            report["bars"] = bars;
            lock (lockObj) report["frames"] = new List<object>(frames);
            report["frames_while_paused"] = framesWhilePaused;
            report["scene_bpm"] = sceneBpm;
            report["ids"] = new Dictionary<string, object>
            {
                { "config", configId }, { "bad_config", badConfigId }, { "clear", clearId },
                { "trigger", triggerId }, { "bad_trigger", badTriggerId },
            };
            report["non_silent_frames"] = nonSilent;
            report["stopped"] = stopped;
            File.WriteAllText(Path.Combine(outDir, "report.json"), Json.Write(report));
            Stub.Send(music, "OnDisable");
            Stub.Send(music, "OnDestroy");
            Console.WriteLine("conformance: " + string.Join("; ", run.Steps));
            return 0;
        }

        /// <summary>The inspector's Fetch scene on a component, against a real server.</summary>
        public static int Probe(Args args)
        {
            string outDir = args.Require("out");
            Directory.CreateDirectory(outDir);
            var go = new GameObject("Music");
            go.SetActive(false);
            var music = go.AddComponent<CadenzaMusic>();
            music.address = args.Require("url");
            music.scene = args.Get("scene", "dungeon");
            var result = Cadenza.Unity.EditorTools.CadenzaInspector.FetchScene(music);
            var report = new Dictionary<string, object>();
            report["ok"] = result.Ok;
            report["error"] = result.Error != null ? result.Error.Code + " " + result.Error.Field : "";
            report["inputs"] = music.sceneInputs;
            report["stingers"] = music.sceneStingers;
            report["session_id"] = result.Ok ? result.Session.SessionId : "";
            report["seconds"] = result.Seconds;
            report["describe"] = Cadenza.Unity.EditorTools.CadenzaInspector.Describe(result);
            File.WriteAllText(Path.Combine(outDir, "report.json"), Json.Write(report));
            return 0;
        }

        static Dictionary<string, object> BeatJson(ScheduledBeat b)
        {
            var j = new Dictionary<string, object>();
            j["beat"] = b.Beat.Beat;
            j["bar"] = b.Beat.Bar;
            j["beat_in_bar"] = b.Beat.BeatInBar;
            j["stream_time"] = b.Beat.StreamTime;
            j["bpm"] = b.Beat.Bpm;
            j["dsp_time"] = double.IsNaN(b.DspTime) ? -1.0 : b.DspTime;
            j["raised_at_dsp"] = AudioSettings.dspTime;
            return j;
        }
    }
}
