// Unity Test Framework tests (NUnit) of the musical protocol and the beat clock: run in
// Unity's Test Runner, and on Mono by tests/sdk/unity (the NUnit subset both share).

using System;
using System.Collections.Generic;
using NUnit.Framework;

namespace Cadenza.Tests.Runtime
{
    public sealed class MusicProtocolTests
    {
        static IDictionary<string, object> Obj(string json)
        {
            return (IDictionary<string, object>)Json.Parse(json);
        }

        [Test]
        public void TriggerNamesTheStinger()
        {
            var m = Obj(Protocol.Trigger("hit", 4));
            Assert.AreEqual("trigger", m["type"]);
            Assert.AreEqual("hit", m["stinger"]);
            Assert.AreEqual(4L, m["id"]);
            Assert.Throws<ArgumentException>(() => Protocol.Trigger("", 1));
        }

        [Test]
        public void ConfigSendsOnlyTheSetFieldsByLyriasNames()
        {
            var config = new GenerationConfig { Bpm = 100, MuteDrums = true, TopK = 40, Scale = "D_MAJOR_B_MINOR" };
            var m = Obj(Protocol.Config(config, new[] { "density" }, 5));
            Assert.AreEqual("config", m["type"]);
            var fields = (IDictionary<string, object>)m["config"];
            Assert.AreEqual(4, fields.Count);
            Assert.AreEqual(100L, fields["bpm"]);
            Assert.AreEqual(true, fields["mute_drums"]);
            Assert.AreEqual(40L, fields["top_k"]);
            Assert.AreEqual("D_MAJOR_B_MINOR", fields["scale"]);
            Assert.AreEqual(new List<object> { "density" }, m["clear"]);
        }

        [Test]
        public void ConfigClearAllAndUnknownFields()
        {
            var m = Obj(Protocol.Config(null, new[] { "*" }));
            Assert.AreEqual(0, ((IDictionary<string, object>)m["config"]).Count);
            Assert.IsFalse(m.ContainsKey("id"));
            Assert.Throws<ArgumentException>(() => Protocol.Config(null, new[] { "tempo" }));
        }

        [Test]
        public void CreateAndAttachAskForBeatEvents()
        {
            var create = Obj(Protocol.Create(new CreateRequest { Scene = "dungeon", BeatEvents = BeatEvents.Bars }));
            Assert.AreEqual("bars", create["beat_events"]);
            var attach = Obj(Protocol.Attach("s1", 12, PcmEncoding.F32LE, -1, BeatEvents.Beats));
            Assert.AreEqual("beats", attach["beat_events"]);
            Assert.AreEqual(12L, attach["resume_from_seq"]);
            Assert.IsFalse(Obj(Protocol.Create(new CreateRequest { Scene = "x" })).ContainsKey("beat_events"));
        }

        [Test]
        public void BeatAndStingerEventsParse()
        {
            var beat = Protocol.ParseServer("{\"type\":\"event\",\"kind\":\"beat\",\"stream_time\":96000,\"beat\":4.0," +
                                            "\"bar\":1,\"beat_in_bar\":0,\"bpm\":120.0,\"beats_per_bar\":4,\"beat_unit\":4}");
            BeatInfo info;
            Assert.IsTrue(BeatInfo.TryParse(beat, out info));
            Assert.AreEqual(96000L, info.StreamTime);
            Assert.AreEqual(1L, info.Bar);
            Assert.AreEqual(0, info.BeatInBar);
            Assert.AreEqual(120.0, info.Bpm);
            Assert.IsFalse(info.IsBar);
            var stinger = Protocol.ParseServer("{\"type\":\"event\",\"kind\":\"stinger\",\"stinger\":\"hit\"," +
                                               "\"status\":\"scheduled\",\"at\":120000}");
            StingerInfo s;
            Assert.IsTrue(StingerInfo.TryParse(stinger, out s));
            Assert.AreEqual("hit", s.Name);
            Assert.AreEqual(120000L, s.At);
            Assert.IsFalse(BeatInfo.TryParse(stinger, out info));
        }

        [Test]
        public void SessionCarriesStingersAndConfig()
        {
            var m = Protocol.ParseServer("{\"type\":\"session\",\"session\":{\"session_id\":\"a\",\"scene\":\"dungeon\"," +
                                         "\"stingers\":[\"hit\",\"level_up\"],\"config\":{\"bpm\":100}," +
                                         "\"unsupported_knobs\":[\"mode\"]}}");
            CollectionAssert.AreEqual(new[] { "hit", "level_up" }, m.Session.Stingers);
            Assert.AreEqual(100L, m.Session.Config["bpm"]);
            CollectionAssert.AreEqual(new[] { "mode" }, m.Session.UnsupportedKnobs);
        }

        [Test]
        public void AudioHeaderReadsTheBeatClock()
        {
            var frame = new byte[48 + 4];
            new[] { (byte)'C', (byte)'D', (byte)'Z', (byte)'A' }.CopyTo(frame, 0);
            frame[4] = 1;
            frame[6] = 48;
            frame[24] = 0x80; frame[25] = 0xBB;  // 48000
            frame[28] = 1;
            frame[29] = 1;
            frame[30] = 1;  // clock flag
            BitConverter.GetBytes(6.5).CopyTo(frame, 32);
            BitConverter.GetBytes(240f).CopyTo(frame, 40);
            frame[44] = 6;
            frame[45] = 8;
            AudioFrameHeader h;
            string error;
            Assert.IsTrue(Protocol.TryParseHeader(frame, frame.Length, out h, out error), error);
            Assert.IsTrue(h.HasClock);
            Assert.AreEqual(6.5, h.Beat);
            Assert.AreEqual(240f, h.Bpm);
            Assert.AreEqual(6, h.BeatsPerBar);
            Assert.AreEqual(8, h.BeatUnit);
            Assert.AreEqual(2, h.Frames);
        }

        [Test]
        public void BeatClockMapsStreamTimeToDspTimeAndReleasesWithALead()
        {
            var clock = new BeatClock();
            clock.Add(new BeatInfo { StreamTime = 48000, Beat = 2 });
            clock.Add(new BeatInfo { StreamTime = 72000, Beat = 3 });
            Assert.AreEqual(0, clock.TakeDue(10.0, 0.1, false).Count);  // no audio yet
            Assert.IsTrue(double.IsNaN(clock.DspTimeOf(48000)));
            clock.Mark(24000, 10.0);  // stream frame 24000 plays at dsp 10 s
            Assert.AreEqual(10.5, clock.DspTimeOf(48000), 1e-9);
            Assert.AreEqual(0, clock.TakeDue(10.3, 0.1, false).Count);
            var due = clock.TakeDue(10.41, 0.1, false);
            Assert.AreEqual(1, due.Count);
            Assert.AreEqual(10.5, due[0].DspTime, 1e-9);
            Assert.AreEqual(1, clock.Pending);
            Assert.AreEqual(11.0, clock.TakeDue(11.2, 0.0, false)[0].DspTime, 1e-9);
        }
    }
}
