// Musical messages of the protocol: the live generation config (Lyria RealTime's names and
// ranges), beat/bar events and stinger events. Plain data, no I/O: safe from any thread.

using System;
using System.Collections.Generic;

namespace Cadenza
{
    /// <summary>Which beat-grid events the server sends on a stream.</summary>
    public enum BeatEvents
    {
        None,
        /// <summary>Every beat (a bar event is a beat with BeatInBar 0).</summary>
        Beats,
        /// <summary>Every downbeat only.</summary>
        Bars,
    }

    /// <summary>Live generation config. A field left null is not sent (the scene's
    /// expression, or an earlier live value, stays); a set field overrides the scene until
    /// it is cleared (CadenzaClient.SetGenerationConfig's clear list).</summary>
    public sealed class GenerationConfig
    {
        /// <summary>The protocol's field names (Lyria RealTime's).</summary>
        public static readonly string[] Fields =
        {
            "temperature", "top_k", "guidance", "seed", "bpm", "density", "brightness", "scale",
            "mute_bass", "mute_drums", "only_bass_and_drums", "mode",
        };

        /// <summary>0–3.</summary>
        public double? Temperature;
        /// <summary>1–1000.</summary>
        public int? TopK;
        /// <summary>0–6.</summary>
        public double? Guidance;
        /// <summary>Takes effect at the next ResetMusic, as in Lyria.</summary>
        public long? Seed;
        /// <summary>60–200 quarter notes per minute.</summary>
        public double? Bpm;
        /// <summary>0–1.</summary>
        public double? Density;
        /// <summary>0–1.</summary>
        public double? Brightness;
        /// <summary>C_MAJOR_A_MINOR, D_MAJOR_B_MINOR, ... or SCALE_UNSPECIFIED.</summary>
        public string Scale;
        public bool? MuteBass;
        public bool? MuteDrums;
        public bool? OnlyBassAndDrums;
        /// <summary>quality, diversity or vocalization (where the engine has them).</summary>
        public string Mode;

        /// <summary>The fields that are set, by their protocol names.</summary>
        public Dictionary<string, object> ToWire()
        {
            var m = new Dictionary<string, object>();
            if (Temperature.HasValue) m["temperature"] = Temperature.Value;
            if (TopK.HasValue) m["top_k"] = TopK.Value;
            if (Guidance.HasValue) m["guidance"] = Guidance.Value;
            if (Seed.HasValue) m["seed"] = Seed.Value;
            if (Bpm.HasValue) m["bpm"] = Bpm.Value;
            if (Density.HasValue) m["density"] = Density.Value;
            if (Brightness.HasValue) m["brightness"] = Brightness.Value;
            if (Scale != null) m["scale"] = Scale;
            if (MuteBass.HasValue) m["mute_bass"] = MuteBass.Value;
            if (MuteDrums.HasValue) m["mute_drums"] = MuteDrums.Value;
            if (OnlyBassAndDrums.HasValue) m["only_bass_and_drums"] = OnlyBassAndDrums.Value;
            if (Mode != null) m["mode"] = Mode;
            return m;
        }

        /// <summary>True for a protocol field name (or "*", every field, in a clear list).</summary>
        public static bool IsField(string name)
        {
            return name == "*" || Array.IndexOf(Fields, name) >= 0;
        }
    }

    /// <summary>A beat or bar of the session's beat grid (a `beat` / `bar` event).</summary>
    public struct BeatInfo
    {
        /// <summary>True for a bar event (a downbeat).</summary>
        public bool IsBar;
        /// <summary>The stream sample (48 kHz) where the beat falls.</summary>
        public long StreamTime;
        /// <summary>Beats since the session started.</summary>
        public double Beat;
        public long Bar;
        public int BeatInBar;
        /// <summary>Beats of the beat unit per minute.</summary>
        public double Bpm;
        public int BeatsPerBar;
        public int BeatUnit;

        /// <summary>Reads a beat or bar event; false for any other message.</summary>
        public static bool TryParse(ServerMessage m, out BeatInfo beat)
        {
            beat = new BeatInfo();
            if (m == null || m.Kind != ServerMessageKind.Event || (m.EventKind != "beat" && m.EventKind != "bar"))
                return false;
            var o = m.Raw;
            beat.IsBar = m.EventKind == "bar";
            beat.StreamTime = Json.GetLong(o, "stream_time");
            beat.Beat = Json.GetDouble(o, "beat");
            beat.Bar = Json.GetLong(o, "bar");
            beat.BeatInBar = (int)Json.GetLong(o, "beat_in_bar");
            beat.Bpm = Json.GetDouble(o, "bpm");
            beat.BeatsPerBar = (int)Json.GetLong(o, "beats_per_bar", 4);
            beat.BeatUnit = (int)Json.GetLong(o, "beat_unit", 4);
            return true;
        }
    }

    /// <summary>A `stinger` event: where a triggered stinger starts, or why it does not.</summary>
    public sealed class StingerInfo
    {
        public string Name = "";
        /// <summary>scheduled, suppressed (cooldown) or unavailable.</summary>
        public string Status = "";
        /// <summary>The stream sample where it starts (or was asked for).</summary>
        public long At;

        public static bool TryParse(ServerMessage m, out StingerInfo stinger)
        {
            stinger = null;
            if (m == null || m.Kind != ServerMessageKind.Event || m.EventKind != "stinger") return false;
            stinger = new StingerInfo
            {
                Name = Json.GetString(m.Raw, "stinger", ""), Status = Json.GetString(m.Raw, "status", ""),
                At = Json.GetLong(m.Raw, "at"),
            };
            return true;
        }
    }
}
