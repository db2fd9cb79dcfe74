// Unit tests of the engine-agnostic core: JSON, the protocol codec, the ring buffer,
// state coalescing, playout (resampling, fades, underruns) and the blend timeline.
// No network: bytes and samples in, values out.

using System;
using System.Collections.Generic;
using System.Threading;

namespace Cadenza.Tests
{
    public class JsonTests
    {
        [Test]
        public void ParsesEveryKindOfValue()
        {
            var v = (IDictionary<string, object>)Json.Parse(
                " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"q\\\"\\\\\\/\\n\\u00e9\", \"o\": {}} ");
            var a = (IList<object>)v["a"];
            Assert.Equal(1.0, (double)a[0], "int");
            Assert.Equal(-2500.0, (double)a[1], "exponent");
            Assert.Equal(true, (bool)a[2], "true");
            Assert.Equal(false, (bool)a[3], "false");
            Assert.True(a[4] == null, "null");
            Assert.Equal("q\"\\/\n\u00e9", (string)v["s"], "escapes");
            Assert.Equal(0, ((IDictionary<string, object>)v["o"]).Count, "empty object");
        }

        [Test]
        public void RefusesMalformedText()
        {
            foreach (string bad in new[] { "{broken", "[1,]", "{\"a\":1}x", "\"\\x\"", "01", "NaN", "", "{\"a\" 1}",
                                           "\"tab\tinside\"", "-", "1.", "[" })
                Assert.Throws<JsonException>(() => Json.Parse(bad), "parse " + bad);
        }

        [Test]
        public void WritesRoundTrippableText()
        {
            var obj = new Dictionary<string, object>();
            obj["f"] = 0.7f;
            obj["d"] = 0.1;
            obj["whole"] = 3f;
            obj["big"] = 1L << 52;
            obj["s"] = "line\nquote\"\u0001";
            obj["l"] = new List<object> { true, null, "x" };
            string text = Json.Write(obj);
            Assert.True(text.Contains("\"f\":0.7,"), "floats are written short: " + text);
            Assert.True(text.Contains("\"whole\":3,"), "whole floats without a fraction: " + text);
            Assert.True(text.Contains("\\u0001"), "control characters escaped: " + text);
            var back = (IDictionary<string, object>)Json.Parse(text);
            Assert.Equal(0.1, (double)back["d"], "double");
            Assert.Equal((double)(1L << 52), (double)back["big"], "long");
            Assert.Equal("line\nquote\"\u0001", (string)back["s"], "string");
            Assert.Throws<ArgumentException>(() => Json.Write(float.NaN), "NaN");
            Assert.Throws<ArgumentException>(() => Json.Write(new object()), "unknown type");
        }
    }

    public class ProtocolTests
    {
        internal static byte[] Frame(long seq, long time, int encoding, byte[] pcm, int headerSize = 32,
                                     int version = 1, string magic = "CDZA", int channels = 2)
        {
            var b = new byte[headerSize + pcm.Length];
            for (int i = 0; i < 4; i++) b[i] = (byte)magic[i];
            b[4] = (byte)version;
            b[6] = (byte)headerSize;
            for (int i = 0; i < 8; i++) b[8 + i] = (byte)(seq >> (8 * i));
            for (int i = 0; i < 8; i++) b[16 + i] = (byte)(time >> (8 * i));
            b[24] = 0x80; b[25] = 0xBB;  // 48000
            b[28] = (byte)channels;
            b[29] = (byte)encoding;
            Buffer.BlockCopy(pcm, 0, b, headerSize, pcm.Length);
            return b;
        }

        [Test]
        public void ClientMessagesMatchTheProtocolPage()
        {
            var state = new Dictionary<string, object>();
            state["biome"] = "cave";
            var create = (IDictionary<string, object>)Json.Parse(Protocol.Create(new CreateRequest
            {
                Scene = "dungeon", Seed = 7, State = state, Encoding = PcmEncoding.F32LE, Id = 1,
            }));
            Assert.Equal("create", Json.GetString(create, "type"), "type");
            Assert.Equal("dungeon", Json.GetString(create, "scene"), "scene");
            Assert.Equal(7L, Json.GetLong(create, "seed"), "seed");
            Assert.Equal("f32le", Json.GetString(create, "encoding"), "encoding");
            Assert.Equal("cave", Json.GetString(Json.GetObject(create, "state"), "biome"), "state");
            Assert.True(!Json.Has(create, "engine") && !Json.Has(create, "paused"), "defaults are omitted");

            var attach = (IDictionary<string, object>)Json.Parse(Protocol.Attach("abc", 412, PcmEncoding.S16LE));
            Assert.Equal(412L, Json.GetLong(attach, "resume_from_seq"), "resume");
            Assert.True(!Json.Has(attach, "id"), "no id unless given");
            var live = (IDictionary<string, object>)Json.Parse(Protocol.Attach("abc", -1, PcmEncoding.S16LE));
            Assert.True(!Json.Has(live, "resume_from_seq"), "live attach has no resume_from_seq");

            var values = new Dictionary<string, object>();
            values["danger"] = 0.7f;
            values["alive"] = true;
            Assert.Equal("{\"type\":\"state\",\"id\":12,\"values\":{\"danger\":0.7,\"alive\":true}}",
                         Protocol.State(values, 12), "state");
            var prompts = new Dictionary<string, float>();
            prompts["dark techno"] = 1f;
            Assert.Equal("{\"type\":\"prompts\",\"prompts\":{\"dark techno\":1}}", Protocol.Prompts(prompts),
                         "prompts");
            Assert.Equal("{\"type\":\"control\",\"id\":3,\"action\":\"pause\"}", Protocol.Control("pause", 3),
                         "control");
        }

        [Test]
        public void DecodesS16Frames()
        {
            byte[] pcm = { 0, 0, 0, 0x40, 0, 0x80, 0xFF, 0x7F };
            byte[] frame = Frame(5, 12000, 1, pcm);
            AudioFrameHeader h;
            string error;
            Assert.True(Protocol.TryParseHeader(frame, frame.Length, out h, out error), "parse: " + error);
            Assert.Equal(5L, h.Seq, "seq");
            Assert.Equal(12000L, h.StreamTime, "stream_time");
            Assert.Equal(48000, h.SampleRate, "rate");
            Assert.Equal(2, h.Frames, "frames");
            var dst = new float[4];
            Assert.Equal(4, Protocol.DecodePcm(frame, h.HeaderSize, h.PayloadBytes, h.Encoding, dst), "samples");
            Assert.Equal(0f, dst[0], "zero");
            Assert.Equal(0.5f, dst[1], "half");
            Assert.Equal(-1f, dst[2], "min");
            Assert.Near(1.0, dst[3], 1e-4, "max");
        }

        [Test]
        public void DecodesF32FramesAndSkipsALongerHeader()
        {
            var pcm = new byte[8];
            Buffer.BlockCopy(new[] { 0.25f, -0.75f }, 0, pcm, 0, 8);
            byte[] frame = Frame(1, 2400, 2, pcm, headerSize: 40);
            AudioFrameHeader h;
            string error;
            Assert.True(Protocol.TryParseHeader(frame, frame.Length, out h, out error), "parse: " + error);
            Assert.Equal(40, h.HeaderSize, "header size");
            Assert.Equal(1, h.Frames, "frames");
            var dst = new float[2];
            Protocol.DecodePcm(frame, h.HeaderSize, h.PayloadBytes, h.Encoding, dst);
            Assert.Equal(0.25f, dst[0], "left");
            Assert.Equal(-0.75f, dst[1], "right");
        }

        [Test]
        public void RefusesFramesItCannotPlay()
        {
            var pcm = new byte[4];
            var cases = new Dictionary<string, byte[]>();
            cases["short"] = new byte[31];
            cases["magic"] = Frame(0, 0, 1, pcm, magic: "RIFF");
            cases["version"] = Frame(0, 0, 1, pcm, version: 2);
            cases["encoding"] = Frame(0, 0, 3, pcm);
            cases["partial frame"] = Frame(0, 0, 1, new byte[3]);
            cases["no channels"] = Frame(0, 0, 1, pcm, channels: 0);
            foreach (var kv in cases)
            {
                AudioFrameHeader h;
                string error;
                Assert.True(!Protocol.TryParseHeader(kv.Value, kv.Value.Length, out h, out error), kv.Key);
                Assert.True(!string.IsNullOrEmpty(error), kv.Key + " gives a reason");
            }
        }

        [Test]
        public void ParsesServerMessages()
        {
            var s = Protocol.ParseServer("{\"type\":\"session\",\"session\":{\"session_id\":\"kZ\",\"scene\":\"dungeon\"," +
                                         "\"seed\":7,\"sample_rate\":48000,\"channels\":2,\"input_names\":[\"danger\"]," +
                                         "\"inputs\":{\"danger\":0.0}}}");
            Assert.Equal(ServerMessageKind.Session, s.Kind, "session");
            Assert.Equal("kZ", s.Session.SessionId, "id");
            Assert.Equal("danger", s.Session.InputNames[0], "inputs");
            var b = Protocol.ParseServer("{\"type\":\"blend\",\"seq\":120,\"stream_time\":288000,\"blend\":[" +
                                         "{\"name\":\"cave\",\"text\":\"dark\",\"weight\":0.75}," +
                                         "{\"name\":\"tension\",\"text\":\"tense\",\"weight\":0.25}]}");
            Assert.Equal(288000L, b.Blend.StreamTime, "blend time");
            Assert.Equal(0.75f, b.Blend.WeightOf("cave"), "weight");
            Assert.Equal(0f, b.Blend.WeightOf("combat"), "absent prompt");
            var e = Protocol.ParseServer("{\"type\":\"error\",\"id\":12,\"code\":\"invalid_argument\"," +
                                         "\"field\":\"danger\",\"message\":\"out of range\"}");
            Assert.Equal("danger", e.Error.Field, "field");
            Assert.Equal(12L, e.Error.Id, "id");
            var ev = Protocol.ParseServer("{\"type\":\"event\",\"kind\":\"telepathy\",\"stream_time\":9,\"x\":1}");
            Assert.Equal(ServerMessageKind.Event, ev.Kind, "unknown event kinds are events");
            Assert.Equal("telepathy", ev.EventKind, "kind");
            Assert.Equal(ServerMessageKind.Unknown, Protocol.ParseServer("{\"type\":\"future\"}").Kind, "unknown type");
            Assert.Throws<JsonException>(() => Protocol.ParseServer("[1]"), "not an object");
        }
    }

    public class RingTests
    {
        static float[] Ramp(int start, int frames)
        {
            var a = new float[frames * 2];
            for (int i = 0; i < frames; i++)
            {
                a[2 * i] = start + i;
                a[2 * i + 1] = -(start + i);
            }
            return a;
        }

        [Test]
        public void KeepsOrderAcrossTheWrapAndKnowsStreamTime()
        {
            var ring = new AudioRingBuffer(64);
            Assert.Equal(64, ring.CapacityFrames, "capacity");
            Assert.Equal(-1L, ring.ReadStreamTime(), "nothing written");
            var out1 = new float[2 * 64];
            long t = 1000;
            int next = 0;
            for (int round = 0; round < 10; round++)
            {
                Assert.True(ring.Write(Ramp((int)(t - 1000), 40), 40, 2, t), "write");
                t += 40;
                Assert.Equal(1000L + next, ring.ReadStreamTime(), "stream time before read");
                int got = ring.Read(out1, 0, 40);
                Assert.Equal(40, got, "read");
                for (int i = 0; i < got; i++)
                {
                    Assert.Equal((float)next, out1[2 * i], "left");
                    Assert.Equal((float)-next, out1[2 * i + 1], "right");
                    next++;
                }
            }
            Assert.Equal(0L, ring.Gaps, "gapless");
        }

        [Test]
        public void DropsWhatDoesNotFitAndReanchorsStreamTime()
        {
            var ring = new AudioRingBuffer(64);
            Assert.True(ring.Write(Ramp(0, 50), 50, 2, 0), "first");
            Assert.True(!ring.Write(Ramp(50, 20), 20, 2, 50), "no room");
            Assert.Equal(20L, ring.DroppedFrames, "dropped");
            Assert.True(ring.Write(Ramp(70, 10), 10, 2, 70), "fits");
            var dst = new float[2 * 60];
            Assert.Equal(50, ring.Read(dst, 0, 50), "first part");
            Assert.Equal(70L, ring.ReadStreamTime(), "stream time after the hole");
        }

        [Test]
        public void DuplicatesMonoAndCountsGaps()
        {
            var ring = new AudioRingBuffer(64);
            ring.Write(new[] { 0.5f, 0.25f }, 2, 1, 0);
            ring.Write(new[] { 0.1f, 0.2f }, 1, 2, 100);
            Assert.Equal(1L, ring.Gaps, "gap");
            var dst = new float[6];
            ring.Read(dst, 0, 3);
            Assert.Equal(0.5f, dst[1], "mono right = left");
            Assert.Equal(0.25f, dst[2], "second mono frame");
            Assert.Equal(101L, ring.ReadStreamTime(), "after the gap");
        }

        [Test]
        public void OneProducerOneConsumerNeverTearFrames()
        {
            var ring = new AudioRingBuffer(1024);
            const int chunks = 3000, size = 97;
            int stop = 0; // set if the reader gives up, so the writer never waits forever
            var producer = new Thread(() =>
            {
                for (int c = 0; c < chunks && Volatile.Read(ref stop) == 0; c++)
                {
                    float[] data = Ramp(c * size, size);
                    while (ring.FreeFrames < size && Volatile.Read(ref stop) == 0) Thread.Yield();
                    ring.Write(data, size, 2, (long)c * size);
                }
            });
            producer.Start();
            var dst = new float[2 * 300];
            var random = new Random(1);
            long expected = 0;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (expected < (long)chunks * size && DateTime.UtcNow < deadline)
            {
                long at = ring.ReadStreamTime();
                int got = ring.Read(dst, 0, random.Next(1, 300));
                if (got > 0) Assert.Equal(expected, at, "stream time");
                else Thread.Yield(); // let the writer run (a loaded 2-core machine)
                for (int i = 0; i < got; i++, expected++)
                    if (dst[2 * i] != expected || dst[2 * i + 1] != -expected)
                        throw new AssertionException("frame " + expected + " read as " + dst[2 * i]);
            }
            Volatile.Write(ref stop, 1);
            producer.Join();
            Assert.Equal((long)chunks * size, expected, "frames read");
            Assert.Equal(0L, ring.DroppedFrames, "dropped");
        }
    }

    public class CoalescerTests
    {
        [Test]
        public void SendsTheFirstChangeAtOnceThenTheLatestAtMostNPerSecond()
        {
            var c = new StateCoalescer(10);
            double wait;
            c.Set("danger", 0.1f);
            var first = c.TakeDue(0.0, out wait);
            Assert.Equal(0.1f, (float)first["danger"], "leading edge");
            for (int i = 0; i < 100; i++) c.Set("danger", i / 100f);
            c.Set("biome", "cave");
            Assert.True(c.TakeDue(0.05, out wait) == null, "within the interval");
            Assert.Near(0.05, wait, 1e-9, "wait");
            var second = c.TakeDue(0.1, out wait);
            Assert.Equal(0.99f, (float)second["danger"], "latest value");
            Assert.Equal("cave", (string)second["biome"], "other inputs ride along");
            Assert.Equal(99L, c.Merged, "merged updates");
            Assert.True(c.TakeDue(10, out wait) == null && double.IsPositiveInfinity(wait), "nothing pending");
        }

        [Test]
        public void RestoresUnsentValuesWithoutOverwritingNewerOnes()
        {
            var c = new StateCoalescer(0);
            double wait;
            c.Set("danger", 0.3f);
            c.Set("health", 50);
            var sent = c.TakeDue(0, out wait);
            c.Set("danger", 0.9f);
            c.Restore(sent);
            var again = c.TakeDue(1, out wait);
            Assert.Equal(0.9f, (float)again["danger"], "newer value kept");
            Assert.Equal(50, (int)again["health"], "lost value restored");
            Assert.Equal(2, c.Latest().Count, "latest");
        }

        [Test]
        public void RefusesValuesTheProtocolCannotCarry()
        {
            var c = new StateCoalescer(10);
            Assert.Throws<ArgumentException>(() => c.Set("danger", float.NaN), "NaN");
            Assert.Throws<ArgumentException>(() => c.Set("danger", new object()), "object");
            Assert.Throws<ArgumentException>(() => c.Set("", 1f), "no name");
            Assert.True(!c.HasPending, "nothing queued");
        }
    }

    public class PlayoutTests
    {
        internal static AudioRingBuffer Sine(double freq, int frames, float amplitude = 0.5f, long start = 0)
        {
            var ring = new AudioRingBuffer(frames + 16);
            var data = new float[frames * 2];
            for (int i = 0; i < frames; i++)
            {
                float v = (float)(amplitude * Math.Sin(2 * Math.PI * freq * (start + i) / 48000.0));
                data[2 * i] = v;
                data[2 * i + 1] = -v;
            }
            ring.Write(data, frames, 2, start);
            return ring;
        }

        /// <summary>Renders blocks of block frames until total frames; returns the left channel.</summary>
        internal static float[] Render(AudioPlayout p, int rate, int block, int total, int channels = 2)
        {
            var left = new float[total];
            var data = new float[block * channels];
            for (int done = 0; done < total; done += block)
            {
                for (int k = 0; k < data.Length; k++) data[k] = 123f;  // garbage must be overwritten
                p.Render(data, channels, rate);
                for (int j = 0; j < block && done + j < total; j++) left[done + j] = data[j * channels];
            }
            return left;
        }

        [Test]
        public void WaitsForThePrebufferThenPlaysBitExactAt48k()
        {
            var ring = new AudioRingBuffer(4096);
            var p = new AudioPlayout(ring) { PrebufferFrames = 1000, FadeFrames = 64 };
            var chunk = new float[2 * 600];
            for (int i = 0; i < 600; i++) chunk[2 * i] = chunk[2 * i + 1] = 0.25f + i * 1e-4f;
            ring.Write(chunk, 600, 2, 0);
            float[] before = Render(p, 48000, 256, 256);
            Assert.True(Array.TrueForAll(before, v => v == 0f), "silent until the prebuffer is reached");
            Assert.Equal(PlayoutState.Buffering, p.State, "buffering");
            ring.Write(chunk, 600, 2, 600);
            float[] played = Render(p, 48000, 256, 1024);
            Assert.Equal(PlayoutState.Playing, p.State, "playing");
            Assert.True(played[0] < 0.01f, "fades in");
            for (int i = 64; i < 600; i++) Assert.Equal(chunk[2 * i], played[i], "sample " + i);
            Assert.Equal(1024L, p.Playhead, "playhead");
            Assert.Equal(0L, p.Underruns, "no underrun");
        }

        [Test]
        public void ResamplesTo44100WithoutSeamsBetweenBlocks()
        {
            const double freq = 1000;
            var p = new AudioPlayout(Sine(freq, 48000)) { PrebufferFrames = 1, FadeFrames = 1 };
            float[] left = Render(p, 44100, 441, 44100 / 2);
            // The output is the same sine sampled at 44.1 kHz, up to linear interpolation's error.
            double worst = 0;
            for (int i = 1; i < left.Length; i++)
            {
                double ideal = 0.5 * Math.Sin(2 * Math.PI * freq * i / 44100.0);
                worst = Math.Max(worst, Math.Abs(left[i] - ideal));
            }
            Assert.True(worst < 0.005, "max error against the ideal sine: " + worst);
            int crossings = 0;
            for (int i = 1; i < left.Length; i++) if (left[i - 1] < 0 && left[i] >= 0) crossings++;
            Assert.Near(500, crossings, 1, "1 kHz for 0.5 s");
            Assert.Near(24000, p.Playhead, 2, "consumed 0.5 s of 48 kHz audio");
        }

        [Test]
        public void ResamplesUpTo96kAndMixesDownToMono()
        {
            var p = new AudioPlayout(Sine(440, 24000)) { PrebufferFrames = 1, FadeFrames = 1 };
            float[] mono = Render(p, 96000, 1000, 20000, channels: 1);
            Assert.True(Array.TrueForAll(mono, v => Math.Abs(v) < 1e-6), "L and -L average to silence");
            var q = new AudioPlayout(Sine(440, 24000)) { PrebufferFrames = 1, FadeFrames = 1 };
            float[] left = Render(q, 96000, 1000, 20000, channels: 6);
            double worst = 0;
            for (int i = 1; i < left.Length; i++)
                worst = Math.Max(worst, Math.Abs(left[i] - 0.5 * Math.Sin(2 * Math.PI * 440 * i / 96000.0)));
            Assert.True(worst < 0.001, "96 kHz error: " + worst);
        }

        [Test]
        public void FadesOutOnUnderrunInsteadOfClicking()
        {
            var ring = new AudioRingBuffer(4096);
            var dc = new float[2 * 1000];
            for (int i = 0; i < dc.Length; i++) dc[i] = 0.8f;
            ring.Write(dc, 1000, 2, 0);
            var p = new AudioPlayout(ring) { PrebufferFrames = 500, FadeFrames = 100 };
            float[] left = Render(p, 48000, 256, 256 * 6);
            Assert.Equal(1L, p.Underruns, "one underrun");
            Assert.Equal(256L * 6 - 1000, p.UnderrunFrames, "frames not covered by audio");
            for (int i = 110; i < 1000; i++) Assert.Equal(0.8f, left[i], "steady " + i);
            double maxStep = 0;
            for (int i = 1; i < left.Length; i++) maxStep = Math.Max(maxStep, Math.Abs(left[i] - left[i - 1]));
            Assert.True(maxStep <= 0.8 / 100 + 1e-6, "no step larger than the fade's: " + maxStep);
            Assert.True(left[1050] > 0.3f && left[1050] < 0.5f, "halfway down the fade: " + left[1050]);
            for (int i = 1100; i < left.Length; i++) Assert.Equal(0f, left[i], "silent after the fade " + i);
            Assert.Equal(PlayoutState.Buffering, p.State, "rebuffering");
        }

        [Test]
        public void RecoversAfterAnUnderrunWithAFadeIn()
        {
            var ring = new AudioRingBuffer(4096);
            var p = new AudioPlayout(ring) { PrebufferFrames = 256, FadeFrames = 128 };
            var dc = new float[2 * 512];
            for (int i = 0; i < dc.Length; i++) dc[i] = 0.5f;
            ring.Write(dc, 512, 2, 0);
            Render(p, 48000, 256, 1024);  // plays 512, underruns
            ring.Write(dc, 512, 2, 512);
            float[] again = Render(p, 48000, 256, 512);
            Assert.True(again[0] < 0.01f, "starts from silence");
            Assert.Equal(0.5f, again[300], "full level after the fade");
            Assert.Equal(1L, p.Underruns, "counted once");
        }

        [Test]
        public void PauseFadesOutAndKeepsTheBufferedAudio()
        {
            var ring = new AudioRingBuffer(8192);
            var chunk = new float[2 * 4800];
            for (int i = 0; i < 4800; i++) chunk[2 * i] = chunk[2 * i + 1] = 0.5f;
            ring.Write(chunk, 4800, 2, 0);
            var p = new AudioPlayout(ring) { PrebufferFrames = 100, FadeFrames = 100 };
            Render(p, 48000, 256, 512);
            p.Paused = true;
            float[] fading = Render(p, 48000, 256, 512);
            Assert.True(fading[0] > 0.49f && fading[150] == 0f, "fades to silence");
            int kept = ring.AvailableFrames;
            Render(p, 48000, 256, 2048);
            Assert.Equal(kept, ring.AvailableFrames, "nothing consumed while paused");
            Assert.Equal(0L, p.Underruns, "a pause is not an underrun");
            p.Paused = false;
            float[] resumed = Render(p, 48000, 256, 512);
            Assert.True(resumed[0] < 0.01f && resumed[200] == 0.5f, "fades back in");
        }

        [Test]
        public void SkipsABacklogDownToThePrebufferWhenAsked()
        {
            var ring = new AudioRingBuffer(16384);
            var chunk = new float[2 * 10000];
            ring.Write(chunk, 10000, 2, 0);
            var p = new AudioPlayout(ring) { PrebufferFrames = 1000, MaxBufferedFrames = 4000, FadeFrames = 10 };
            Render(p, 48000, 100, 100);
            Assert.Equal(9000L, p.TrimmedFrames, "skipped before sound started");
            Assert.Equal(9100L, p.Playhead, "caught up");
            var q = new AudioPlayout(Sine(100, 10000)) { PrebufferFrames = 1000 };
            Render(q, 48000, 100, 100);
            Assert.Equal(0L, q.TrimmedFrames, "never skips by default");
        }
    }

    public class TimelineTests
    {
        static Blend B(long t, float w)
        {
            return new Blend(t / 2400, t, new List<BlendEntry> { new BlendEntry("combat", "drums", w) });
        }

        [Test]
        public void ReleasesBlendsWhenThePlayheadReachesThem()
        {
            var tl = new BlendTimeline();
            tl.Add(B(0, 0f));
            tl.Add(B(24000, 0.5f));
            tl.Add(B(48000, 1f));
            Assert.Equal(1, tl.TakeDue(100).Count, "the first");
            Assert.Equal(0, tl.TakeDue(23999).Count, "not yet");
            var due = tl.TakeDue(50000);
            Assert.Equal(2, due.Count, "both later ones");
            Assert.Equal(1f, tl.Current.WeightOf("combat"), "current");
            tl.Add(B(96000, 0f));
            Assert.Equal(1, tl.TakeDue(-1).Count, "no playout: at once");
        }
    }
}
