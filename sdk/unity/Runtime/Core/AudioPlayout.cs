// Playout: the audio callback's side of the jitter buffer. Render() fills an engine's
// output block (any channel count, any output rate) from the 48 kHz stereo ring:
// it waits for a prebuffer before starting, resamples linearly when the output rate is
// not 48 kHz, fades in when sound starts, and when the ring runs dry it lets the last
// sample decay to silence over FadeFrames instead of clicking. Underruns are counted.
//
// Threads: Render only from the audio thread (the ring's one consumer). The settings
// (Paused, PrebufferFrames, MaxBufferedFrames, Volume) may be set from any thread; the
// counters and Playhead may be read from any thread. Render never locks or allocates
// once its scratch buffers have grown to the callback's block size.

using System;
using System.Threading;

namespace Cadenza
{
    public enum PlayoutState
    {
        Buffering,
        Playing,
    }

    public sealed class AudioPlayout
    {
        public const int SourceRate = 48000;

        readonly AudioRingBuffer ring;
        float[] mix = new float[0];  // this block's stereo output
        float[] src = new float[0];  // resampler input: index 0 = the current source frame

        volatile int state = (int)PlayoutState.Buffering;
        volatile bool paused;
        volatile int prebufferFrames = 4800;
        volatile int maxBufferedFrames;
        volatile int fadeFrames = 240;
        volatile float volume = 1f;

        float gain;                    // envelope, 0..1
        bool trimPending;
        bool starved;                  // ran dry while playing, not yet playing again
        bool primed;                   // resampler has a current frame
        float curL, curR;
        double frac;
        float lastL, lastR;            // last sample sent (the tail decays from it)
        float tailL, tailR;
        int tailLeft;

        long playhead = -1;
        long underruns, underrunFrames, trimmedFrames, renderedFrames;

        public AudioPlayout(AudioRingBuffer ring)
        {
            if (ring == null) throw new ArgumentNullException("ring");
            this.ring = ring;
        }

        public AudioRingBuffer Ring { get { return ring; } }

        /// <summary>Frames the ring must hold before sound starts (and restarts after an
        /// underrun). Larger survives more network jitter; smaller starts sooner.</summary>
        public int PrebufferFrames
        {
            get { return prebufferFrames; }
            set { prebufferFrames = Math.Max(1, value); }
        }

        /// <summary>When more than this many frames are waiting (after a reconnect burst),
        /// the oldest are skipped, down to PrebufferFrames, behind a short fade, so the
        /// music catches up with the game; 0 (the default) never skips.</summary>
        public int MaxBufferedFrames
        {
            get { return maxBufferedFrames; }
            set { maxBufferedFrames = Math.Max(0, value); }
        }

        /// <summary>Length of fades in output frames (default 240: 5 ms at 48 kHz).</summary>
        public int FadeFrames
        {
            get { return fadeFrames; }
            set { fadeFrames = Math.Max(1, value); }
        }

        public float Volume
        {
            get { return volume; }
            set { volume = value; }
        }

        /// <summary>Paused: fade out and stop consuming (the buffered audio is kept).</summary>
        public bool Paused
        {
            get { return paused; }
            set { paused = value; }
        }

        public PlayoutState State { get { return (PlayoutState)state; } }

        /// <summary>Stream time (48 kHz frames) of the next source frame to be played:
        /// what the listener hears now, up to the engine's own output latency.</summary>
        public long Playhead { get { return Interlocked.Read(ref playhead); } }

        /// <summary>Times sound stopped because the ring ran dry while playing.</summary>
        public long Underruns { get { return Interlocked.Read(ref underruns); } }

        /// <summary>Output frames not covered by audio because of underruns (the fade-out
        /// tail and the silence until playing again).</summary>
        public long UnderrunFrames { get { return Interlocked.Read(ref underrunFrames); } }

        public long TrimmedFrames { get { return Interlocked.Read(ref trimmedFrames); } }
        public long RenderedFrames { get { return Interlocked.Read(ref renderedFrames); } }

        /// <summary>Fills data (interleaved, channels per frame, at outputRate Hz) with the
        /// next audio; overwrites what data held. Call from the audio thread only.</summary>
        public void Render(float[] data, int channels, int outputRate)
        {
            if (channels < 1 || outputRate <= 0) return;
            int n = data.Length / channels;
            if (mix.Length < n * 2) mix = new float[n * 2];

            int produced = 0;
            int fade = fadeFrames;
            if (state == (int)PlayoutState.Buffering && !paused && ring.AvailableFrames >= prebufferFrames)
            {
                TrimBacklog();  // nothing is sounding yet: skipping is silent
                state = (int)PlayoutState.Playing;
                primed = false;
                gain = 0f;      // fade in
                tailLeft = 0;
                starved = false;
            }
            if (state == (int)PlayoutState.Playing)
            {
                int max = maxBufferedFrames;
                if (max > 0 && ring.AvailableFrames > max) trimPending = true;
                produced = outputRate == SourceRate ? ring.Read(mix, 0, n) : Resample(n, outputRate);
                float target = paused || trimPending ? 0f : 1f;
                float step = 1f / fade;
                for (int j = 0; j < produced; j++)
                {
                    if (gain < target) gain = Math.Min(target, gain + step);
                    else if (gain > target) gain = Math.Max(target, gain - step);
                    mix[2 * j] *= gain;
                    mix[2 * j + 1] *= gain;
                }
                if (produced > 0)
                {
                    lastL = mix[2 * produced - 2];
                    lastR = mix[2 * produced - 1];
                }
                if (produced < n)
                {
                    if (!paused)
                    {
                        Interlocked.Increment(ref underruns);
                        Interlocked.Add(ref underrunFrames, n - produced);
                        starved = true;
                    }
                    StartTail(fade);
                    state = (int)PlayoutState.Buffering;
                }
                else if (gain == 0f && paused)
                {
                    state = (int)PlayoutState.Buffering;  // held: resumes with a fade-in
                }
                else if (gain == 0f && trimPending)
                {
                    TrimBacklog();
                    trimPending = false;
                    primed = false;
                }
            }
            else
            {
                if (starved && !paused) Interlocked.Add(ref underrunFrames, n);
                if (tailLeft == 0) lastL = lastR = 0f;
            }

            for (int j = produced; j < n; j++)
            {
                float l = 0f, r = 0f;
                if (tailLeft > 0)
                {
                    float g = (float)tailLeft / fade;
                    l = tailL * g;
                    r = tailR * g;
                    tailLeft--;
                }
                mix[2 * j] = l;
                mix[2 * j + 1] = r;
            }
            if (produced < n)
            {
                lastL = mix[2 * n - 2];
                lastR = mix[2 * n - 1];
            }

            float v = volume;
            if (channels == 1)
            {
                for (int j = 0; j < n; j++) data[j] = 0.5f * (mix[2 * j] + mix[2 * j + 1]) * v;
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    int o = j * channels;
                    data[o] = mix[2 * j] * v;
                    data[o + 1] = mix[2 * j + 1] * v;
                    for (int c = 2; c < channels; c++) data[o + c] = 0f;
                }
            }
            for (int k = n * channels; k < data.Length; k++) data[k] = 0f;
            Interlocked.Add(ref renderedFrames, n);
            Interlocked.Exchange(ref playhead, ring.ReadStreamTime());
        }

        void StartTail(int fade)
        {
            tailL = lastL;
            tailR = lastR;
            tailLeft = fade;
            primed = false;
        }

        void TrimBacklog()
        {
            int max = maxBufferedFrames;
            int available = ring.AvailableFrames;
            if (max <= 0 || available <= max) return;
            int skipped = ring.Skip(available - prebufferFrames);
            Interlocked.Add(ref trimmedFrames, skipped);
        }

        // Linear interpolation from 48 kHz to outputRate. Positions are counted in source
        // frames from the current frame (src[0]); the fractional position carries over
        // from one block to the next, so block boundaries are seamless. Returns the frames
        // produced: fewer than n when the ring ran dry (the resampler then starts afresh).
        int Resample(int n, int outputRate)
        {
            double step = (double)SourceRate / outputRate;
            if (!primed)
            {
                if (src.Length < 2) src = new float[2];
                if (ring.Read(src, 0, 1) == 0) return 0;
                curL = src[0];
                curR = src[1];
                frac = 0;
                primed = true;
            }
            double end = frac + n * step;
            int advance = (int)Math.Floor(end);
            int need = Math.Max(advance, (int)Math.Floor(frac + (n - 1) * step) + 1);
            if (src.Length < (need + 1) * 2) src = new float[(need + 1) * 2];
            src[0] = curL;
            src[1] = curR;
            int got = ring.Peek(src, 1, need);
            int j = 0;
            for (; j < n; j++)
            {
                double p = frac + j * step;
                int i = (int)p;
                if (i + 1 > got) break;
                float t = (float)(p - i);
                mix[2 * j] = src[2 * i] + (src[2 * i + 2] - src[2 * i]) * t;
                mix[2 * j + 1] = src[2 * i + 1] + (src[2 * i + 3] - src[2 * i + 1]) * t;
            }
            if (j < n)
            {
                ring.Skip(got);
                primed = false;
                return j;
            }
            int consumed = Math.Min(advance, got);
            ring.Skip(consumed);
            curL = src[2 * consumed];
            curR = src[2 * consumed + 1];
            frac = end - consumed;
            return n;
        }
    }
}
