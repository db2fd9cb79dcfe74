// The Cadenza WebSocket protocol, version 1 (docs/websocket-protocol.md), sans I/O:
// functions that build the client's JSON text frames, parse the server's text frames
// into typed messages, and decode binary audio frames (header, optional beat clock, PCM).
// No sockets and no shared state: safe from any thread.

using System;
using System.Collections.Generic;
using System.Globalization;

namespace Cadenza
{
    public enum PcmEncoding
    {
        S16LE = 1,
        F32LE = 2,
    }

    /// <summary>One prompt of a blend: the scene's prompt name, its text and its weight
    /// (weights of a blend sum to 1).</summary>
    public sealed class BlendEntry
    {
        public readonly string Name;
        public readonly string Text;
        public readonly float Weight;

        public BlendEntry(string name, string text, float weight)
        {
            Name = name;
            Text = text;
            Weight = weight;
        }

        public override string ToString()
        {
            return Name + " " + Weight.ToString("0.###", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The blend behind the audio from <see cref="StreamTime"/> on.</summary>
    public sealed class Blend
    {
        public readonly long Seq;
        public readonly long StreamTime;
        public readonly IList<BlendEntry> Entries;

        public Blend(long seq, long streamTime, IList<BlendEntry> entries)
        {
            Seq = seq;
            StreamTime = streamTime;
            Entries = entries;
        }

        /// <summary>The weight of the prompt called name (0 when it is not in the blend).</summary>
        public float WeightOf(string name)
        {
            for (int i = 0; i < Entries.Count; i++)
                if (Entries[i].Name == name) return Entries[i].Weight;
            return 0f;
        }

        /// <summary>True when both blends hold the same prompts with the same weights.</summary>
        public bool SameWeights(Blend other)
        {
            if (other == null || other.Entries.Count != Entries.Count) return false;
            for (int i = 0; i < Entries.Count; i++)
                if (other.WeightOf(Entries[i].Name) != Entries[i].Weight) return false;
            return true;
        }

        public override string ToString()
        {
            return string.Join(", ", Entries);
        }
    }

    /// <summary>The server's description of a session (the reply to create/attach).</summary>
    public sealed class SessionInfo
    {
        public string SessionId;
        public string Scene;
        public string Engine;
        public long Seed;
        public string State;
        public int SampleRate;
        public int Channels;
        public long Seq;
        public long StreamTime;
        public IList<string> InputNames = new List<string>();
        public IDictionary<string, object> Inputs = new Dictionary<string, object>();
        /// <summary>The scene's stingers (names for CadenzaClient.Trigger).</summary>
        public IList<string> Stingers = new List<string>();
        /// <summary>The live generation config in effect (protocol names; empty: none).</summary>
        public IDictionary<string, object> Config = new Dictionary<string, object>();
        /// <summary>Knobs this session's engine does not honour.</summary>
        public IList<string> UnsupportedKnobs = new List<string>();
    }

    /// <summary>An error the server reported: code is one of the protocol's short codes
    /// (invalid_argument, not_found, ...); field names the offending value.</summary>
    public sealed class ServerError
    {
        public readonly string Code;
        public readonly string Message;
        public readonly string Field;
        public readonly long Id;  // -1: the request carried no id

        public ServerError(string code, string message, string field, long id)
        {
            Code = code ?? "";
            Message = message ?? "";
            Field = field ?? "";
            Id = id;
        }

        public override string ToString()
        {
            return Code + (Field.Length > 0 ? " (" + Field + ")" : "") + ": " + Message;
        }
    }

    public enum ServerMessageKind
    {
        Unknown,
        Session,
        Blend,
        Ack,
        Error,
        Event,
        Pong,
    }

    /// <summary>A parsed server text frame. Which fields are set depends on Kind;
    /// <see cref="Raw"/> keeps the whole object for fields this client does not model.</summary>
    public sealed class ServerMessage
    {
        public ServerMessageKind Kind;
        public string Type;
        public long Id = -1;
        public SessionInfo Session;
        public Blend Blend;
        public ServerError Error;
        public string EventKind;     // for Event: blend_changed, underrun, state_changed, error, ended ...
        public long StreamTime;
        public IDictionary<string, object> Raw;
    }

    /// <summary>The header of a binary audio frame (32 bytes; 48 with the beat clock).</summary>
    public struct AudioFrameHeader
    {
        public int Version;
        public int HeaderSize;
        public long Seq;
        public long StreamTime;
        public int SampleRate;
        public int Channels;
        public PcmEncoding Encoding;
        public int Flags;
        public int PayloadBytes;
        /// <summary>True when the frame carries the beat clock (flag bit 0).</summary>
        public bool HasClock;
        /// <summary>(clock) beats since the session started, at the frame's first sample.</summary>
        public double Beat;
        /// <summary>(clock) beats of the beat unit per minute.</summary>
        public float Bpm;
        public int BeatsPerBar;
        public int BeatUnit;

        public int BytesPerSample { get { return Encoding == PcmEncoding.S16LE ? 2 : 4; } }

        /// <summary>Sample frames in the payload (one frame = one sample per channel).</summary>
        public int Frames { get { return PayloadBytes / (Channels * BytesPerSample); } }
    }

    /// <summary>What to ask for in a <c>create</c> message.</summary>
    public sealed class CreateRequest
    {
        public string Scene;
        public string SceneYaml;
        public string Engine;
        public long Seed = -1;  // -1: the scene's seed, else random
        public IDictionary<string, object> State;
        public bool Paused;
        public PcmEncoding Encoding = PcmEncoding.S16LE;
        public BeatEvents BeatEvents = BeatEvents.None;
        public long Id = -1;
    }

    public static class Protocol
    {
        public const int Version = 1;
        public const int MinHeaderSize = 32;

        // ----------------------------------------------------------- client → server
        public static string Create(CreateRequest r)
        {
            var m = Message("create", r.Id);
            if (r.SceneYaml != null) m["scene_yaml"] = r.SceneYaml;
            else m["scene"] = r.Scene;
            if (!string.IsNullOrEmpty(r.Engine)) m["engine"] = r.Engine;
            if (r.Seed >= 0) m["seed"] = r.Seed;
            if (r.State != null && r.State.Count > 0) m["state"] = r.State;
            if (r.Paused) m["paused"] = true;
            m["encoding"] = EncodingName(r.Encoding);
            if (r.BeatEvents != BeatEvents.None) m["beat_events"] = BeatEventsName(r.BeatEvents);
            return Json.Write(m);
        }

        /// <summary>Attach to an existing session; resumeFromSeq &lt; 0 streams live.</summary>
        public static string Attach(string sessionId, long resumeFromSeq, PcmEncoding encoding, long id = -1,
                                    BeatEvents beats = BeatEvents.None)
        {
            var m = Message("attach", id);
            m["session_id"] = sessionId;
            if (resumeFromSeq >= 0) m["resume_from_seq"] = resumeFromSeq;
            m["encoding"] = EncodingName(encoding);
            if (beats != BeatEvents.None) m["beat_events"] = BeatEventsName(beats);
            return Json.Write(m);
        }

        /// <summary>Fire one of the scene's stingers at its next play_at boundary.</summary>
        public static string Trigger(string stinger, long id = -1)
        {
            if (string.IsNullOrEmpty(stinger)) throw new ArgumentException("a stinger name is required");
            var m = Message("trigger", id);
            m["stinger"] = stinger;
            return Json.Write(m);
        }

        /// <summary>Live generation config: set the fields of config that are not null, and
        /// hand the fields named in clear back to the scene ("*": all). Throws ArgumentException
        /// for a name that is not a config field.</summary>
        public static string Config(GenerationConfig config, IList<string> clear, long id = -1)
        {
            var m = Message("config", id);
            m["config"] = config != null ? config.ToWire() : new Dictionary<string, object>();
            if (clear != null && clear.Count > 0)
            {
                foreach (string name in clear)
                    if (!GenerationConfig.IsField(name))
                        throw new ArgumentException("'" + name + "' is not a generation config field");
                m["clear"] = clear;
            }
            return Json.Write(m);
        }

        public static string BeatEventsName(BeatEvents beats)
        {
            return beats == BeatEvents.Bars ? "bars" : beats == BeatEvents.Beats ? "beats" : "none";
        }

        /// <summary>Push inputs: values are numbers (float, double, int), strings or bools.</summary>
        public static string State(IDictionary<string, object> values, long id = -1)
        {
            var m = Message("state", id);
            m["values"] = values;
            return Json.Write(m);
        }

        /// <summary>Steer with weighted prompts; an empty map hands control back to the scene.</summary>
        public static string Prompts(IDictionary<string, float> prompts, long id = -1)
        {
            var m = Message("prompts", id);
            var map = new Dictionary<string, object>();
            if (prompts != null)
                foreach (var kv in prompts) map[kv.Key] = kv.Value;
            m["prompts"] = map;
            return Json.Write(m);
        }

        /// <summary>action: play, pause, reset or stop.</summary>
        public static string Control(string action, long id = -1)
        {
            var m = Message("control", id);
            m["action"] = action;
            return Json.Write(m);
        }

        public static string Ping(long id = -1)
        {
            return Json.Write(Message("ping", id));
        }

        static Dictionary<string, object> Message(string type, long id)
        {
            var m = new Dictionary<string, object>();
            m["type"] = type;
            if (id >= 0) m["id"] = id;
            return m;
        }

        public static string EncodingName(PcmEncoding encoding)
        {
            return encoding == PcmEncoding.F32LE ? "f32le" : "s16le";
        }

        // ----------------------------------------------------------- server → client
        /// <summary>Parses a server text frame. Unknown types and event kinds are returned
        /// (Kind Unknown / EventKind as sent), never refused: the protocol may grow.
        /// Throws JsonException only when the text is not a JSON object.</summary>
        public static ServerMessage ParseServer(string text)
        {
            var obj = Json.Parse(text) as IDictionary<string, object>;
            if (obj == null) throw new JsonException("a server message is a JSON object", 0);
            var msg = new ServerMessage { Raw = obj, Type = Json.GetString(obj, "type", "") };
            msg.Id = Json.GetLong(obj, "id", -1);
            switch (msg.Type)
            {
                case "session":
                    msg.Kind = ServerMessageKind.Session;
                    msg.Session = ParseSession(Json.GetObject(obj, "session"));
                    break;
                case "blend":
                    msg.Kind = ServerMessageKind.Blend;
                    msg.StreamTime = Json.GetLong(obj, "stream_time");
                    msg.Blend = new Blend(Json.GetLong(obj, "seq"), msg.StreamTime,
                                          ParseBlend(Json.GetList(obj, "blend")));
                    break;
                case "ack":
                    msg.Kind = ServerMessageKind.Ack;
                    break;
                case "pong":
                    msg.Kind = ServerMessageKind.Pong;
                    break;
                case "error":
                    msg.Kind = ServerMessageKind.Error;
                    msg.Error = new ServerError(Json.GetString(obj, "code"), Json.GetString(obj, "message"),
                                                Json.GetString(obj, "field"), msg.Id);
                    break;
                case "event":
                    msg.Kind = ServerMessageKind.Event;
                    msg.EventKind = Json.GetString(obj, "kind", "");
                    msg.StreamTime = Json.GetLong(obj, "stream_time");
                    if (msg.EventKind == "blend_changed")
                        msg.Blend = new Blend(-1, msg.StreamTime, ParseBlend(Json.GetList(obj, "blend")));
                    break;
                default:
                    msg.Kind = ServerMessageKind.Unknown;
                    break;
            }
            return msg;
        }

        static SessionInfo ParseSession(IDictionary<string, object> s)
        {
            var info = new SessionInfo();
            if (s == null) return info;
            info.SessionId = Json.GetString(s, "session_id", "");
            info.Scene = Json.GetString(s, "scene", "");
            info.Engine = Json.GetString(s, "engine", "");
            info.Seed = Json.GetLong(s, "seed");
            info.State = Json.GetString(s, "state", "");
            info.SampleRate = (int)Json.GetLong(s, "sample_rate", 48000);
            info.Channels = (int)Json.GetLong(s, "channels", 2);
            info.Seq = Json.GetLong(s, "seq");
            info.StreamTime = Json.GetLong(s, "stream_time");
            var names = Json.GetList(s, "input_names");
            if (names != null)
                foreach (object n in names)
                    if (n is string) info.InputNames.Add((string)n);
            var inputs = Json.GetObject(s, "inputs");
            if (inputs != null) info.Inputs = inputs;
            info.Stingers = Strings(Json.GetList(s, "stingers"));
            info.UnsupportedKnobs = Strings(Json.GetList(s, "unsupported_knobs"));
            var config = Json.GetObject(s, "config");
            if (config != null) info.Config = config;
            return info;
        }

        static IList<string> Strings(IList<object> list)
        {
            var result = new List<string>();
            if (list != null)
                foreach (object item in list)
                    if (item is string) result.Add((string)item);
            return result;
        }

        static IList<BlendEntry> ParseBlend(IList<object> list)
        {
            var entries = new List<BlendEntry>();
            if (list == null) return entries;
            foreach (object item in list)
            {
                var e = item as IDictionary<string, object>;
                if (e == null) continue;
                entries.Add(new BlendEntry(Json.GetString(e, "name", ""), Json.GetString(e, "text", ""),
                                           (float)Json.GetDouble(e, "weight")));
            }
            return entries;
        }

        // ----------------------------------------------------------- audio frames
        /// <summary>Reads the header of a binary frame of <paramref name="length"/> bytes.
        /// Returns false (with a reason) for a frame this client cannot play.</summary>
        public static bool TryParseHeader(byte[] data, int length, out AudioFrameHeader header, out string error)
        {
            header = new AudioFrameHeader();
            error = null;
            if (length < MinHeaderSize)
            {
                error = "audio frame shorter than its 32-byte header";
                return false;
            }
            if (data[0] != (byte)'C' || data[1] != (byte)'D' || data[2] != (byte)'Z' || data[3] != (byte)'A')
            {
                error = "bad magic";
                return false;
            }
            header.Version = U16(data, 4);
            header.HeaderSize = U16(data, 6);
            if (header.Version != Version || header.HeaderSize < MinHeaderSize || header.HeaderSize > length)
            {
                error = "unsupported frame version " + header.Version + " / header size " + header.HeaderSize;
                return false;
            }
            header.Seq = (long)U64(data, 8);
            header.StreamTime = (long)U64(data, 16);
            header.SampleRate = (int)U32(data, 24);
            header.Channels = data[28];
            int encoding = data[29];
            header.Flags = U16(data, 30);
            if (encoding != 1 && encoding != 2)
            {
                error = "unknown encoding " + encoding;
                return false;
            }
            if (header.Channels < 1)
            {
                error = "a frame needs at least one channel";
                return false;
            }
            header.Encoding = (PcmEncoding)encoding;
            header.PayloadBytes = length - header.HeaderSize;
            if ((header.Flags & 1) != 0 && header.HeaderSize >= MinHeaderSize + 16)
            {
                header.HasClock = true;
                header.Beat = BitConverter.Int64BitsToDouble((long)U64(data, 32));
                header.Bpm = F32(data, 40);
                header.BeatsPerBar = data[44];
                header.BeatUnit = data[45];
            }
            if (header.PayloadBytes % (header.Channels * header.BytesPerSample) != 0)
            {
                error = "payload is not a whole number of sample frames";
                return false;
            }
            return true;
        }

        /// <summary>Decodes interleaved little-endian PCM into floats in [-1, 1]; returns
        /// the number of samples written (frames × channels).</summary>
        public static int DecodePcm(byte[] data, int offset, int bytes, PcmEncoding encoding, float[] dst)
        {
            if (encoding == PcmEncoding.S16LE)
            {
                int n = bytes / 2;
                if (dst.Length < n) throw new ArgumentException("destination too small");
                for (int i = 0, p = offset; i < n; i++, p += 2)
                    dst[i] = (short)(data[p] | (data[p + 1] << 8)) * (1f / 32768f);
                return n;
            }
            else
            {
                int n = bytes / 4;
                if (dst.Length < n) throw new ArgumentException("destination too small");
                if (BitConverter.IsLittleEndian)
                {
                    Buffer.BlockCopy(data, offset, dst, 0, n * 4);
                }
                else
                {
                    var tmp = new byte[4];
                    for (int i = 0, p = offset; i < n; i++, p += 4)
                    {
                        tmp[0] = data[p + 3]; tmp[1] = data[p + 2]; tmp[2] = data[p + 1]; tmp[3] = data[p];
                        dst[i] = BitConverter.ToSingle(tmp, 0);
                    }
                }
                return n;
            }
        }

        static float F32(byte[] d, int p)
        {
            var tmp = new byte[4];
            Buffer.BlockCopy(d, p, tmp, 0, 4);
            if (!BitConverter.IsLittleEndian) Array.Reverse(tmp);
            return BitConverter.ToSingle(tmp, 0);
        }

        static int U16(byte[] d, int p)
        {
            return d[p] | (d[p + 1] << 8);
        }

        static uint U32(byte[] d, int p)
        {
            return (uint)(d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24));
        }

        static ulong U64(byte[] d, int p)
        {
            return U32(d, p) | ((ulong)U32(d, p + 4) << 32);
        }
    }
}
