// Blends arrive with the audio they describe, up to the server's lookahead (0.5 s) and
// the jitter buffer before that audio is heard. The timeline holds them until the
// playhead reaches their stream time, so "the music changed" events fire when the
// player hears the change, not when the network delivered it.
//
// Threads: Add from any thread (the receive loop); TakeDue from one thread (the game's).

using System.Collections.Concurrent;
using System.Collections.Generic;

namespace Cadenza
{
    public sealed class BlendTimeline
    {
        readonly ConcurrentQueue<Blend> incoming = new ConcurrentQueue<Blend>();
        readonly List<Blend> waiting = new List<Blend>();
        Blend current;

        /// <summary>The blend heard most recently (null before the first one).</summary>
        public Blend Current { get { return current; } }

        public void Add(Blend blend)
        {
            incoming.Enqueue(blend);
        }

        /// <summary>The blends whose audio has started playing by playhead, oldest first;
        /// playhead &lt; 0 (no playout) releases everything at once.</summary>
        public List<Blend> TakeDue(long playhead)
        {
            Blend b;
            while (incoming.TryDequeue(out b)) waiting.Add(b);
            var due = new List<Blend>();
            int k = 0;
            while (k < waiting.Count && (playhead < 0 || waiting[k].StreamTime <= playhead))
            {
                due.Add(waiting[k]);
                k++;
            }
            waiting.RemoveRange(0, k);
            if (due.Count > 0) current = due[due.Count - 1];
            return due;
        }

        /// <summary>Forgets the waiting blends (e.g. after a new session replaced the old one).</summary>
        public void Clear()
        {
            Blend b;
            while (incoming.TryDequeue(out b)) { }
            waiting.Clear();
        }
    }
}
