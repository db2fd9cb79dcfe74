// State-update coalescing: a game may set a variable every frame; the server should see
// at most MaxPerSecond state messages, each carrying the latest value of every input
// changed since the previous one.
//
// Leading and trailing edge: the first change after a quiet spell is sent at once (no
// added latency); changes within the interval are merged and sent when it ends.
// Threads: Set/SetMany from any thread (the game's); TakeDue/Restore from the sender.

using System;
using System.Collections.Generic;

namespace Cadenza
{
    public sealed class StateCoalescer
    {
        readonly object gate = new object();
        readonly double interval;
        Dictionary<string, object> pending = new Dictionary<string, object>();
        readonly Dictionary<string, object> latest = new Dictionary<string, object>();
        double lastSent = double.NegativeInfinity;
        long merged;

        /// <summary>maxPerSecond ≤ 0 means no limit.</summary>
        public StateCoalescer(double maxPerSecond)
        {
            interval = maxPerSecond > 0 ? 1.0 / maxPerSecond : 0.0;
        }

        /// <summary>Seconds between two state messages (0: no limit).</summary>
        public double Interval { get { return interval; } }

        /// <summary>Updates that were folded into a later message instead of being sent.</summary>
        public long Merged
        {
            get { lock (gate) return merged; }
        }

        public bool HasPending
        {
            get { lock (gate) return pending.Count > 0; }
        }

        public void Set(string name, object value)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("an input needs a name");
            Validate(name, value);
            lock (gate)
            {
                if (pending.ContainsKey(name)) merged++;
                pending[name] = value;
                latest[name] = value;
            }
        }

        public void SetMany(IDictionary<string, object> values)
        {
            foreach (var kv in values) Validate(kv.Key, kv.Value);
            lock (gate)
            {
                foreach (var kv in values)
                {
                    if (pending.ContainsKey(kv.Key)) merged++;
                    pending[kv.Key] = kv.Value;
                    latest[kv.Key] = kv.Value;
                }
            }
        }

        static void Validate(string name, object value)
        {
            if (value is float && (float.IsNaN((float)value) || float.IsInfinity((float)value)))
                throw new ArgumentException("input '" + name + "' must be a finite number");
            if (value is double && (double.IsNaN((double)value) || double.IsInfinity((double)value)))
                throw new ArgumentException("input '" + name + "' must be a finite number");
            if (!(value is float || value is double || value is int || value is long || value is bool
                  || value is string))
                throw new ArgumentException("input '" + name + "' must be a number, a string or a bool");
        }

        /// <summary>The values to send now (and forget), or null when there is nothing to
        /// send or the interval has not elapsed; wait is the time in seconds until a call
        /// could return something (infinity when nothing is pending).</summary>
        public Dictionary<string, object> TakeDue(double now, out double wait)
        {
            lock (gate)
            {
                if (pending.Count == 0)
                {
                    wait = double.PositiveInfinity;
                    return null;
                }
                double due = lastSent + interval;
                if (now < due)
                {
                    wait = due - now;
                    return null;
                }
                var values = pending;
                pending = new Dictionary<string, object>();
                lastSent = now;
                wait = double.PositiveInfinity;
                return values;
            }
        }

        /// <summary>Puts back values whose sending failed (a dropped connection), unless a
        /// newer value for the same input arrived meanwhile.</summary>
        public void Restore(IDictionary<string, object> values)
        {
            lock (gate)
            {
                foreach (var kv in values)
                    if (!pending.ContainsKey(kv.Key)) pending[kv.Key] = kv.Value;
            }
        }

        /// <summary>Every input ever set, with its latest value (to recreate a lost session).</summary>
        public Dictionary<string, object> Latest()
        {
            lock (gate) return new Dictionary<string, object>(latest);
        }
    }
}
