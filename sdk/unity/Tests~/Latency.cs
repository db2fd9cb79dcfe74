// The latency benchmark's client side (benchmarks/latency_csharp.py runs it): how long
// from CadenzaClient.SetState(...) to
//   received — the first audio frame whose blend reflects the change arrives at the
//              client (the frame follows the "blend" message that announces it);
//   heard    — a paced 48 kHz "sound card" reading the client's jitter buffer through
//              AudioPlayout reaches that frame's first sample (add your engine's own
//              output latency, e.g. Unity's DSP buffer, to get what a player hears).
// Each trial toggles one input between two values once the blend has settled.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace Cadenza.Tests
{
    public static class Latency
    {
        sealed class Trial
        {
            public double Start;          // seconds on the shared clock
            public Blend Baseline;
            public double Received = -1;
            public long FrameStreamTime = -1;
            public double Heard = -1;
        }

        public static int Run(Args args)
        {
            int trials = (int)args.Number("trials", 100);
            string input = args.Get("input", "intensity");
            float low = (float)args.Number("low", 0.2), high = (float)args.Number("high", 0.3);
            double settle = args.Number("settle", 0.3);
            var options = new CadenzaClientOptions
            {
                Url = args.Require("url"), Scene = args.Get("scene", "minimal"), Seed = 1,
                MaxStateUpdatesPerSecond = args.Number("rate", 20),
            };
            var client = new CadenzaClient(options);
            var playout = new AudioPlayout(client.Audio)
            {
                PrebufferFrames = (int)(args.Number("prebuffer", 0.1) * 48000),
                MaxBufferedFrames = (int)(args.Number("max-buffered", 0) * 48000),
            };
            var clock = Stopwatch.StartNew();
            var gate = new object();
            Blend latest = null;
            double lastBlendAt = 0;
            Trial current = null;
            var done = new List<Trial>();

            client.OnEvent = e =>
            {
                if (e.Kind != CadenzaEventKind.Blend) return;
                lock (gate)
                {
                    latest = e.Blend;
                    lastBlendAt = clock.Elapsed.TotalSeconds;
                }
            };
            client.OnAudioFrame = (h, pcm) =>
            {
                lock (gate)
                {
                    var t = current;
                    if (t == null || t.Received >= 0 || latest == null || latest.SameWeights(t.Baseline)) return;
                    t.Received = clock.Elapsed.TotalSeconds;
                    t.FrameStreamTime = h.StreamTime;
                }
            };
            var audio = new PacedAudio(block =>
            {
                double blockStart = clock.Elapsed.TotalSeconds;
                long before = playout.Ring.ReadStreamTime();
                playout.Render(block, 2, 48000);
                long after = playout.Playhead;
                lock (gate)
                {
                    var t = current;
                    if (t != null && t.FrameStreamTime >= 0 && t.Heard < 0 && after > t.FrameStreamTime)
                        t.Heard = blockStart + Math.Max(0, t.FrameStreamTime - before) / 48000.0;
                }
            }, 48000, 480, 2);

            client.Start();
            audio.Start();
            var random = new Random(7);
            bool high_ = false;
            double deadline = clock.Elapsed.TotalSeconds + trials * 4 + 30;
            // Warm up: music playing for a second, the blend settled.
            while (clock.Elapsed.TotalSeconds < 1.5) Thread.Sleep(10);
            while (done.Count < trials && clock.Elapsed.TotalSeconds < deadline && !client.IsFinished)
            {
                double quiet;
                lock (gate) quiet = clock.Elapsed.TotalSeconds - lastBlendAt;
                if (quiet < settle)
                {
                    Thread.Sleep(10);
                    continue;
                }
                var trial = new Trial();
                lock (gate)
                {
                    trial.Baseline = latest;
                    trial.Start = clock.Elapsed.TotalSeconds;
                    current = trial;
                }
                high_ = !high_;
                client.SetState(input, high_ ? high : low);
                while (clock.Elapsed.TotalSeconds - trial.Start < 5)
                {
                    lock (gate) if (trial.Heard >= 0) break;
                    Thread.Sleep(2);
                }
                lock (gate) current = null;
                if (trial.Heard >= 0) done.Add(trial);
                Thread.Sleep(100 + random.Next(200));  // decorrelate from the 50 ms block grid
            }
            audio.Stop();
            var receivedMs = new List<double>();
            var heardMs = new List<double>();
            foreach (var t in done)
            {
                receivedMs.Add((t.Received - t.Start) * 1000);
                heardMs.Add((t.Heard - t.Start) * 1000);
            }
            var report = new Dictionary<string, object>();
            report["trials"] = done.Count;
            report["received_ms"] = Summary(receivedMs);
            report["heard_ms"] = Summary(heardMs);
            report["underruns"] = playout.Underruns;
            report["prebuffer_s"] = playout.PrebufferFrames / 48000.0;
            report["received_all"] = receivedMs;
            report["heard_all"] = heardMs;
            string json = Json.Write(report);
            string outPath = args.Get("out");
            if (outPath != null) File.WriteAllText(outPath, json);
            client.Dispose();
            Console.WriteLine(json);
            return done.Count == trials ? 0 : 1;
        }

        static Dictionary<string, object> Summary(List<double> values)
        {
            var s = new Dictionary<string, object>();
            if (values.Count == 0) return s;
            var sorted = new List<double>(values);
            sorted.Sort();
            double sum = 0;
            foreach (double v in sorted) sum += v;
            s["p50"] = Percentile(sorted, 50);
            s["p90"] = Percentile(sorted, 90);
            s["p99"] = Percentile(sorted, 99);
            s["max"] = sorted[sorted.Count - 1];
            s["min"] = sorted[0];
            s["mean"] = sum / sorted.Count;
            return s;
        }

        static double Percentile(List<double> sorted, double p)
        {
            double rank = p / 100 * (sorted.Count - 1);
            int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
            return Math.Round(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo), 2);
        }
    }
}
