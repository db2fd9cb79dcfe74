// Maps stream time (48 kHz frames) to the audio device's clock (Unity's
// AudioSettings.dspTime) and holds beat events until they are due, so a game can schedule
// sounds sample-accurately on the music's beat (AudioSource.PlayScheduled(beat.DspTime)).
//
// Threads: the audio thread calls Mark once per audio callback; the main thread calls
// Add, DspTimeOf and TakeDue. Mark never locks or allocates (a sequence lock).

using System;
using System.Collections.Generic;
using System.Threading;

namespace Cadenza
{
    /// <summary>A beat with the device time at which it is heard.</summary>
    public struct ScheduledBeat
    {
        public BeatInfo Beat;
        /// <summary>Device clock time (seconds; Unity: AudioSettings.dspTime) when the beat is
        /// heard; NaN when no audio has been rendered yet.</summary>
        public double DspTime;

        public override string ToString()
        {
            return (Beat.IsBar ? "bar " : "beat ") + Beat.Beat + " @" + DspTime.ToString("0.000");
        }
    }

    public sealed class BeatClock
    {
        const int MaxPending = 256;

        long version;         // odd while the audio thread writes
        long markPlayhead = -1;
        double markDsp;
        readonly List<BeatInfo> pending = new List<BeatInfo>();

        /// <summary>Audio thread: at the start of a callback whose first frame plays stream
        /// frame <paramref name="playhead"/> (AudioPlayout.Playhead before Render) at device
        /// time <paramref name="dspTime"/>.</summary>
        public void Mark(long playhead, double dspTime)
        {
            Interlocked.Increment(ref version);
            markPlayhead = playhead;
            markDsp = dspTime;
            Interlocked.Increment(ref version);
        }

        /// <summary>True once the audio thread has marked a playing stream position.</summary>
        public bool HasMark { get { return Volatile.Read(ref markPlayhead) >= 0; } }

        /// <summary>The device time at which stream frame streamTime is heard (NaN before the
        /// first mark). Beats ahead of the playhead extrapolate at 48 kHz.</summary>
        public double DspTimeOf(long streamTime)
        {
            long playhead;
            double dsp;
            while (true)
            {
                long v = Interlocked.Read(ref version);
                if ((v & 1) != 0) { Thread.Yield(); continue; }
                playhead = Volatile.Read(ref markPlayhead);
                dsp = Volatile.Read(ref markDsp);
                if (Interlocked.Read(ref version) == v) break;
            }
            if (playhead < 0) return double.NaN;
            return dsp + (streamTime - playhead) / (double)AudioPlayout.SourceRate;
        }

        /// <summary>Main thread: queues a beat (they arrive ahead of their audio).</summary>
        public void Add(BeatInfo beat)
        {
            pending.Add(beat);
            if (pending.Count > MaxPending) pending.RemoveAt(0);
        }

        public int Pending { get { return pending.Count; } }

        public void Clear() { pending.Clear(); }

        /// <summary>Main thread: the beats heard within <paramref name="leadSeconds"/> of
        /// <paramref name="nowDsp"/> (or already past), in order. Without a mark (no audio
        /// callback running) every queued beat is returned with a NaN DspTime when
        /// <paramref name="releaseUnmarked"/> is set.</summary>
        public List<ScheduledBeat> TakeDue(double nowDsp, double leadSeconds, bool releaseUnmarked)
        {
            var due = new List<ScheduledBeat>();
            if (!HasMark)
            {
                if (!releaseUnmarked) return due;
                foreach (var b in pending) due.Add(new ScheduledBeat { Beat = b, DspTime = double.NaN });
                pending.Clear();
                return due;
            }
            int taken = 0;
            while (taken < pending.Count)
            {
                double at = DspTimeOf(pending[taken].StreamTime);
                if (at - leadSeconds > nowDsp) break;
                due.Add(new ScheduledBeat { Beat = pending[taken], DspTime = at });
                taken++;
            }
            pending.RemoveRange(0, taken);
            return due;
        }
    }
}
