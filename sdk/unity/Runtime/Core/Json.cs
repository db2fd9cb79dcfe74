// A small JSON reader and writer: enough for the Cadenza control messages, with no
// dependency on System.Text.Json (absent from Mono and from older Unity profiles).
//
// Parse() maps JSON to plain .NET values: objects → Dictionary<string, object>,
// arrays → List<object>, strings → string, numbers → double, true/false → bool,
// null → null. Write() does the reverse for those types plus the integer types and float.
// Pure functions: safe from any thread.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Cadenza
{
    /// <summary>Malformed JSON text (with the character offset where it went wrong).</summary>
    public sealed class JsonException : Exception
    {
        public readonly int Offset;

        public JsonException(string message, int offset)
            : base(message + " at offset " + offset)
        {
            Offset = offset;
        }
    }

    public static class Json
    {
        const int MaxDepth = 64;

        /// <summary>Parses one JSON value; throws JsonException on any malformed input.</summary>
        public static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            var reader = new Reader(text);
            reader.SkipSpace();
            object value = reader.ReadValue(0);
            reader.SkipSpace();
            if (!reader.AtEnd) throw new JsonException("trailing characters", reader.Position);
            return value;
        }

        /// <summary>Serialises a value made of dictionaries, lists, strings, numbers,
        /// bools and nulls. NaN and infinities are refused (JSON has no such numbers).</summary>
        public static string Write(object value)
        {
            var sb = new StringBuilder(128);
            WriteValue(sb, value, 0);
            return sb.ToString();
        }

        static void WriteValue(StringBuilder sb, object value, int depth)
        {
            if (depth > MaxDepth) throw new ArgumentException("value nested too deeply");
            if (value == null) { sb.Append("null"); return; }
            var s = value as string;
            if (s != null) { WriteString(sb, s); return; }
            if (value is bool) { sb.Append((bool)value ? "true" : "false"); return; }
            if (value is double) { WriteNumber(sb, (double)value); return; }
            if (value is float) { WriteFloat(sb, (float)value); return; }
            if (value is int || value is long || value is short || value is byte || value is uint
                || value is ulong || value is ushort || value is sbyte)
            {
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                return;
            }
            if (value is decimal)
            {
                sb.Append(((decimal)value).ToString(CultureInfo.InvariantCulture));
                return;
            }
            var dict = value as IDictionary;
            if (dict != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (DictionaryEntry entry in dict)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, Convert.ToString(entry.Key, CultureInfo.InvariantCulture));
                    sb.Append(':');
                    WriteValue(sb, entry.Value, depth + 1);
                }
                sb.Append('}');
                return;
            }
            var list = value as IEnumerable;
            if (list != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (object item in list)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteValue(sb, item, depth + 1);
                }
                sb.Append(']');
                return;
            }
            throw new ArgumentException("cannot write a " + value.GetType().Name + " as JSON");
        }

        static void WriteNumber(StringBuilder sb, double d)
        {
            if (double.IsNaN(d) || double.IsInfinity(d))
                throw new ArgumentException("JSON numbers must be finite, got " + d);
            if (d == Math.Floor(d) && Math.Abs(d) < 1e15)
                sb.Append(((long)d).ToString(CultureInfo.InvariantCulture));
            else
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
        }

        static void WriteFloat(StringBuilder sb, float f)
        {
            // Shortest text that round-trips as a float: 0.7f is written "0.7", not
            // the 0.699999988079071 that widening to double would print.
            if (float.IsNaN(f) || float.IsInfinity(f))
                throw new ArgumentException("JSON numbers must be finite, got " + f);
            if (f == Math.Floor(f) && Math.Abs(f) < 1e7f)
                sb.Append(((long)f).ToString(CultureInfo.InvariantCulture));
            else
                sb.Append(f.ToString("R", CultureInfo.InvariantCulture));
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20)
                            sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else
                            sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        // ------------------------------------------------------------------ helpers
        /// <summary>The string at key, or fallback when absent or not a string.</summary>
        public static string GetString(IDictionary<string, object> obj, string key, string fallback = null)
        {
            object v;
            return obj != null && obj.TryGetValue(key, out v) && v is string ? (string)v : fallback;
        }

        /// <summary>The number at key, or fallback when absent or not a number.</summary>
        public static double GetDouble(IDictionary<string, object> obj, string key, double fallback = 0)
        {
            object v;
            return obj != null && obj.TryGetValue(key, out v) && v is double ? (double)v : fallback;
        }

        /// <summary>The whole number at key (exact up to 2^53), or fallback.</summary>
        public static long GetLong(IDictionary<string, object> obj, string key, long fallback = 0)
        {
            object v;
            if (obj == null || !obj.TryGetValue(key, out v) || !(v is double)) return fallback;
            double d = (double)v;
            return d == Math.Floor(d) && Math.Abs(d) <= 9007199254740992.0 ? (long)d : fallback;
        }

        public static bool Has(IDictionary<string, object> obj, string key)
        {
            return obj != null && obj.ContainsKey(key);
        }

        public static IDictionary<string, object> GetObject(IDictionary<string, object> obj, string key)
        {
            object v;
            return obj != null && obj.TryGetValue(key, out v) ? v as IDictionary<string, object> : null;
        }

        public static IList<object> GetList(IDictionary<string, object> obj, string key)
        {
            object v;
            return obj != null && obj.TryGetValue(key, out v) ? v as IList<object> : null;
        }

        // ------------------------------------------------------------------ reader
        sealed class Reader
        {
            readonly string text;
            int pos;

            public Reader(string text)
            {
                this.text = text;
            }

            public int Position { get { return pos; } }
            public bool AtEnd { get { return pos >= text.Length; } }

            public void SkipSpace()
            {
                while (pos < text.Length)
                {
                    char c = text[pos];
                    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                    pos++;
                }
            }

            JsonException Fail(string message)
            {
                return new JsonException(message, pos);
            }

            public object ReadValue(int depth)
            {
                if (depth > MaxDepth) throw Fail("nested too deeply");
                if (AtEnd) throw Fail("unexpected end of text");
                char c = text[pos];
                switch (c)
                {
                    case '{': return ReadObject(depth);
                    case '[': return ReadArray(depth);
                    case '"': return ReadString();
                    case 't': Expect("true"); return true;
                    case 'f': Expect("false"); return false;
                    case 'n': Expect("null"); return null;
                    default:
                        if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber();
                        throw Fail("unexpected character '" + c + "'");
                }
            }

            void Expect(string word)
            {
                if (string.CompareOrdinal(text, pos, word, 0, word.Length) != 0)
                    throw Fail("expected '" + word + "'");
                pos += word.Length;
            }

            Dictionary<string, object> ReadObject(int depth)
            {
                var result = new Dictionary<string, object>();
                pos++; // '{'
                SkipSpace();
                if (!AtEnd && text[pos] == '}') { pos++; return result; }
                while (true)
                {
                    SkipSpace();
                    if (AtEnd || text[pos] != '"') throw Fail("expected a string key");
                    string key = ReadString();
                    SkipSpace();
                    if (AtEnd || text[pos] != ':') throw Fail("expected ':'");
                    pos++;
                    SkipSpace();
                    result[key] = ReadValue(depth + 1);
                    SkipSpace();
                    if (AtEnd) throw Fail("unterminated object");
                    char c = text[pos++];
                    if (c == '}') return result;
                    if (c != ',') { pos--; throw Fail("expected ',' or '}'"); }
                }
            }

            List<object> ReadArray(int depth)
            {
                var result = new List<object>();
                pos++; // '['
                SkipSpace();
                if (!AtEnd && text[pos] == ']') { pos++; return result; }
                while (true)
                {
                    SkipSpace();
                    result.Add(ReadValue(depth + 1));
                    SkipSpace();
                    if (AtEnd) throw Fail("unterminated array");
                    char c = text[pos++];
                    if (c == ']') return result;
                    if (c != ',') { pos--; throw Fail("expected ',' or ']'"); }
                }
            }

            string ReadString()
            {
                pos++; // opening quote
                StringBuilder sb = null;
                int start = pos;
                while (true)
                {
                    if (AtEnd) throw Fail("unterminated string");
                    char c = text[pos];
                    if (c == '"')
                    {
                        string tail = text.Substring(start, pos - start);
                        pos++;
                        return sb == null ? tail : sb.Append(tail).ToString();
                    }
                    if (c < 0x20) throw Fail("control character in string");
                    if (c != '\\') { pos++; continue; }
                    if (sb == null) sb = new StringBuilder();
                    sb.Append(text, start, pos - start);
                    pos++;
                    if (AtEnd) throw Fail("unterminated escape");
                    char e = text[pos++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            if (pos + 4 > text.Length) throw Fail("short \\u escape");
                            int code;
                            if (!int.TryParse(text.Substring(pos, 4), NumberStyles.AllowHexSpecifier,
                                              CultureInfo.InvariantCulture, out code))
                                throw Fail("bad \\u escape");
                            sb.Append((char)code);
                            pos += 4;
                            break;
                        default:
                            pos--;
                            throw Fail("bad escape '\\" + e + "'");
                    }
                    start = pos;
                }
            }

            double ReadNumber()
            {
                int start = pos;
                if (text[pos] == '-') pos++;
                if (AtEnd || !IsDigit(text[pos])) throw Fail("bad number");
                if (text[pos] == '0') pos++;
                else while (!AtEnd && IsDigit(text[pos])) pos++;
                if (!AtEnd && text[pos] == '.')
                {
                    pos++;
                    if (AtEnd || !IsDigit(text[pos])) throw Fail("bad fraction");
                    while (!AtEnd && IsDigit(text[pos])) pos++;
                }
                if (!AtEnd && (text[pos] == 'e' || text[pos] == 'E'))
                {
                    pos++;
                    if (!AtEnd && (text[pos] == '+' || text[pos] == '-')) pos++;
                    if (AtEnd || !IsDigit(text[pos])) throw Fail("bad exponent");
                    while (!AtEnd && IsDigit(text[pos])) pos++;
                }
                return double.Parse(text.Substring(start, pos - start), NumberStyles.Float,
                                    CultureInfo.InvariantCulture);
            }

            static bool IsDigit(char c)
            {
                return c >= '0' && c <= '9';
            }
        }
    }
}
