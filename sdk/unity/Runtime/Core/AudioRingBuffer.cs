// The jitter buffer between the network and the audio thread: a lock-free ring of
// interleaved stereo float frames for exactly one producer (the client's receive loop)
// and one consumer (the audio callback), which also knows the stream time of every
// frame it holds.
//
// Threads: Write* only from the producer; Read/Peek/Skip/ReadStreamTime only from the
// consumer; the counters (AvailableFrames, FreeFrames, DroppedFrames ...) from anyone.
// Positions are monotonic 64-bit frame counts published with Interlocked, so the
// consumer never sees a frame before its samples are written.

using System;
using System.Collections.Concurrent;
using System.Threading;

namespace Cadenza
{
    public sealed class AudioRingBuffer
    {
        public const int Channels = 2;

        readonly float[] samples;
        readonly int capacity;   // frames, a power of two
        readonly int mask;
        long writePos;           // frames written since creation (producer)
        long readPos;            // frames consumed since creation (consumer)

        // Where stream time jumps (the first frame, a gap, a dropped frame): the ring
        // position and the stream time of the frame written there. The consumer applies
        // them as it reads past them; gapless streams have exactly one.
        struct Anchor
        {
            public long Position;
            public long StreamTime;
        }

        readonly ConcurrentQueue<Anchor> anchors = new ConcurrentQueue<Anchor>();
        Anchor current;          // consumer's anchor
        bool hasAnchor;
        long expectedStreamTime = -1;  // producer: stream time just past the last frame written
        long droppedFrames;
        long gaps;

        /// <summary>A ring holding at least capacityFrames stereo frames (rounded up to a
        /// power of two).</summary>
        public AudioRingBuffer(int capacityFrames)
        {
            if (capacityFrames < 16) capacityFrames = 16;
            int size = 1;
            while (size < capacityFrames) size <<= 1;
            capacity = size;
            mask = size - 1;
            samples = new float[size * Channels];
        }

        public int CapacityFrames { get { return capacity; } }

        /// <summary>Frames written and not yet consumed.</summary>
        public int AvailableFrames
        {
            get { return (int)(Interlocked.Read(ref writePos) - Interlocked.Read(ref readPos)); }
        }

        public int FreeFrames { get { return capacity - AvailableFrames; } }

        /// <summary>Frames refused because the ring was full (the consumer stalled).</summary>
        public long DroppedFrames { get { return Interlocked.Read(ref droppedFrames); } }

        /// <summary>Times the stream time of written audio did not continue the previous write.</summary>
        public long Gaps { get { return Interlocked.Read(ref gaps); } }

        // ------------------------------------------------------------------ producer
        /// <summary>Appends frames of interleaved audio with srcChannels channels (1: mono,
        /// duplicated to both sides; 2: stereo; more: the first two are kept), the first of
        /// which has the given stream time. All or nothing: when the ring lacks room the
        /// frames are dropped, counted, and false is returned.</summary>
        public bool Write(float[] src, int frames, int srcChannels, long streamTime)
        {
            if (srcChannels < 1) throw new ArgumentOutOfRangeException("srcChannels");
            long w = Interlocked.Read(ref writePos);
            long r = Interlocked.Read(ref readPos);
            if (capacity - (int)(w - r) < frames)
            {
                Interlocked.Add(ref droppedFrames, frames);
                expectedStreamTime = -1;  // the next write starts a new anchor
                return false;
            }
            if (streamTime != expectedStreamTime)
            {
                if (expectedStreamTime >= 0) Interlocked.Increment(ref gaps);
                anchors.Enqueue(new Anchor { Position = w, StreamTime = streamTime });
            }
            for (int i = 0; i < frames; i++)
            {
                int dst = (int)((w + i) & mask) * Channels;
                int s = i * srcChannels;
                if (srcChannels == 1)
                {
                    samples[dst] = src[s];
                    samples[dst + 1] = src[s];
                }
                else
                {
                    samples[dst] = src[s];
                    samples[dst + 1] = src[s + 1];
                }
            }
            expectedStreamTime = streamTime + frames;
            Interlocked.Exchange(ref writePos, w + frames);  // publish after the samples
            return true;
        }

        // ------------------------------------------------------------------ consumer
        /// <summary>Copies up to frames frames into dst (interleaved stereo, from
        /// dstOffset frames) without consuming them; returns the number copied.</summary>
        public int Peek(float[] dst, int dstOffset, int frames)
        {
            long r = Interlocked.Read(ref readPos);
            int n = Math.Min(frames, (int)(Interlocked.Read(ref writePos) - r));
            for (int i = 0; i < n; i++)
            {
                int src = (int)((r + i) & mask) * Channels;
                int d = (dstOffset + i) * Channels;
                dst[d] = samples[src];
                dst[d + 1] = samples[src + 1];
            }
            return n;
        }

        /// <summary>Consumes up to frames frames; returns the number consumed.</summary>
        public int Skip(int frames)
        {
            long r = Interlocked.Read(ref readPos);
            int n = Math.Min(frames, (int)(Interlocked.Read(ref writePos) - r));
            Interlocked.Exchange(ref readPos, r + n);
            return n;
        }

        /// <summary>Peek then Skip: copies and consumes up to frames frames.</summary>
        public int Read(float[] dst, int dstOffset, int frames)
        {
            return Skip(Peek(dst, dstOffset, frames));
        }

        /// <summary>The stream time of the next frame Read would return (consumer only);
        /// -1 before anything was written.</summary>
        public long ReadStreamTime()
        {
            long r = Interlocked.Read(ref readPos);
            Anchor next;
            while (anchors.TryPeek(out next) && next.Position <= r)
            {
                current = next;
                hasAnchor = true;
                anchors.TryDequeue(out next);
            }
            return hasAnchor ? current.StreamTime + (r - current.Position) : -1;
        }
    }
}
