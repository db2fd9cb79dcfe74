// The Unity face of Cadenza: put this component on a GameObject (it adds an AudioSource),
// fill in the address and scene, press Play, and steer with SetState("danger", 0.7f).
//
// Threads: everything public runs on Unity's main thread. OnAudioFilterRead runs on the
// audio thread and only touches the AudioPlayout (lock-free). Network events are queued
// by the client and dispatched from Update, so every C# event below is raised on the
// main thread. OnBeat/OnBar are raised from Update too, beatLeadSeconds before the beat is
// heard, with the beat's DSP time (AudioSettings.dspTime) for AudioSource.PlayScheduled.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using UnityEngine;
using UnityEngine.Events;
using Debug = UnityEngine.Debug;

namespace Cadenza.Unity
{
    /// <summary>A beat or bar of the music, with the DSP time (AudioSettings.dspTime) at
    /// which it is heard.</summary>
    [Serializable]
    public sealed class CadenzaBeatEvent : UnityEvent<ScheduledBeat> { }

    [AddComponentMenu("Audio/Cadenza Music")]
    [RequireComponent(typeof(AudioSource))]
    [DisallowMultipleComponent]
    public sealed class CadenzaMusic : MonoBehaviour
    {
        [Header("Server")]
        [Tooltip("The runtime's WebSocket endpoint: ws://HOST:8765/v1/stream (wss:// with TLS).")]
        public string address = "ws://127.0.0.1:8765/v1/stream";

        [Tooltip("Bearer token, when the server was started with --token. Keep it out of builds you ship.")]
        public string token = "";

        [Header("Session")]
        [Tooltip("A scene served by the runtime (dungeon, museum, minimal, or your own).")]
        public string scene = "dungeon";

        [Tooltip("Engine name; empty: the server's default (procedural).")]
        public string engine = "";

        [Tooltip("Seed for the music; -1: the scene's seed.")]
        public int seed = -1;

        [Tooltip("Connect and play when the component is enabled.")]
        public bool playOnEnable = true;

        [Header("Latency")]
        [Tooltip("Audio buffered before sound starts (and after an underrun). More survives network jitter.")]
        [Range(0.02f, 1f)]
        public float prebufferSeconds = 0.1f;

        [Tooltip("Skip ahead when more than this much audio is waiting (after a reconnect); 0: never skip.")]
        [Range(0f, 4f)]
        public float maxBufferedSeconds = 0f;

        [Tooltip("State messages per second at most; SetState may be called every frame.")]
        [Range(1f, 60f)]
        public float maxStateUpdatesPerSecond = 20f;

        [Tooltip("Log connection changes and errors to the console.")]
        public bool logEvents = true;

        [Header("Beats")]
        [Tooltip("Beat-grid events to ask the server for: Beats raises OnBeat and OnBar, Bars only OnBar.")]
        public BeatEvents beatEvents = BeatEvents.Beats;

        [Tooltip("Raise OnBeat/OnBar this long before the beat is heard, so a sound can be scheduled on it.")]
        [Range(0f, 0.5f)]
        public float beatLeadSeconds = 0.1f;

        [Tooltip("Raised on the main thread for every beat (beat.DspTime: when it is heard).")]
        public CadenzaBeatEvent OnBeat = new CadenzaBeatEvent();

        [Tooltip("Raised on the main thread on every downbeat.")]
        public CadenzaBeatEvent OnBar = new CadenzaBeatEvent();

        [Header("Scene (filled by the inspector's Fetch scene)")]
        [Tooltip("The scene's inputs, for SetState.")]
        public string[] sceneInputs = new string[0];

        [Tooltip("The scene's stingers, for Trigger.")]
        public string[] sceneStingers = new string[0];

        /// <summary>The blend changed, raised when the new blend's audio starts playing.</summary>
        public event Action<Blend> BlendChanged;
        /// <summary>A request failed or the connection gave up (error.Code, error.Message).</summary>
        public event Action<ServerError> ErrorReceived;
        /// <summary>A session was created or re-attached.</summary>
        public event Action<SessionInfo> SessionStarted;
        /// <summary>The WebSocket opened (true) or dropped (false).</summary>
        public event Action<bool> ConnectionChanged;
        /// <summary>A triggered stinger was scheduled (Status "scheduled", At: its stream
        /// time) or suppressed by its cooldown.</summary>
        public event Action<StingerInfo> StingerScheduled;
        /// <summary>A request succeeded (its id, and the server's reply: a config ack carries
        /// "config" and "unsupported").</summary>
        public event Action<long, ServerMessage> RequestAcked;
        /// <summary>Every session event from the server (state_changed, tempo, underrun,
        /// stinger, beat ...: Message.EventKind, fields in Message.Raw).</summary>
        public event Action<ServerMessage> ServerEventReceived;

        CadenzaClient client;
        volatile AudioPlayout playout;
        AudioSource source;
        volatile int outputRate = AudioPlayout.SourceRate;
        string lastSessionId;
        bool subscribed;
        readonly BeatClock beats = new BeatClock();
        readonly Stopwatch sinceConnect = new Stopwatch();

        /// <summary>The network client (null while disconnected).</summary>
        public CadenzaClient Client { get { return client; } }

        /// <summary>The audio thread's side: underrun counters, playhead, buffer settings.</summary>
        public AudioPlayout Playout { get { return playout; } }

        public bool IsConnected { get { return client != null && client.IsConnected; } }

        /// <summary>The blend heard now (null before the music starts).</summary>
        public Blend CurrentBlend { get { return client != null ? client.Blends.Current : null; } }

        /// <summary>Stream time to device time, and the beats not yet raised.</summary>
        public BeatClock Beats { get { return beats; } }

        /// <summary>Seconds of audio waiting in the jitter buffer.</summary>
        public float BufferedSeconds
        {
            get { return client != null ? client.Audio.AvailableFrames / (float)AudioPlayout.SourceRate : 0f; }
        }

        void Awake()
        {
            source = GetComponent<AudioSource>();
            outputRate = AudioSettings.outputSampleRate;
            AudioSettings.OnAudioConfigurationChanged += OnAudioConfigurationChanged;
            subscribed = true;
        }

        void OnEnable()
        {
            if (playOnEnable) Connect();
        }

        void OnDisable()
        {
            Disconnect();
        }

        void OnDestroy()
        {
            if (subscribed) AudioSettings.OnAudioConfigurationChanged -= OnAudioConfigurationChanged;
            subscribed = false;
            Disconnect();
        }

        /// <summary>Connects and starts the music (re-attaching to the previous session
        /// after a Disconnect, so the music continues where it was).</summary>
        public void Connect()
        {
            if (client != null) return;
            var options = new CadenzaClientOptions
            {
                Url = address, Token = string.IsNullOrEmpty(token) ? null : token, Scene = scene,
                Engine = string.IsNullOrEmpty(engine) ? null : engine, Seed = seed,
                SessionId = lastSessionId, MaxStateUpdatesPerSecond = maxStateUpdatesPerSecond,
                BeatEvents = beatEvents,
            };
            beats.Clear();
            client = new CadenzaClient(options);
            playout = new AudioPlayout(client.Audio)
            {
                PrebufferFrames = (int)(prebufferSeconds * AudioPlayout.SourceRate),
                MaxBufferedFrames = (int)(maxBufferedSeconds * AudioPlayout.SourceRate),
            };
            client.Start();
            sinceConnect.Reset();
            sinceConnect.Start();
            if (source != null)
            {
                source.clip = null;  // the filter below is the source's sound
                source.spatialBlend = 0f;
                if (!source.isPlaying) source.Play();
            }
        }

        /// <summary>Closes the connection; the session stays on the server for its idle
        /// timeout (60 s by default), so Connect() resumes it.</summary>
        public void Disconnect()
        {
            var c = client;
            if (c == null) return;
            lastSessionId = c.SessionId;
            playout = null;  // the audio thread sees null and writes silence
            client = null;
            c.Stop(0.5);
        }

        // ------------------------------------------------------------------ steering
        /// <summary>Sets a number input, e.g. SetState("danger", 0.7f). Call as often as
        /// you like: updates are coalesced to maxStateUpdatesPerSecond.</summary>
        public void SetState(string input, float value)
        {
            if (client != null) client.SetState(input, value);
        }

        public void SetState(string input, int value)
        {
            if (client != null) client.SetState(input, value);
        }

        /// <summary>Sets an enum input, e.g. SetState("biome", "cave").</summary>
        public void SetState(string input, string value)
        {
            if (client != null) client.SetState(input, value);
        }

        public void SetState(string input, bool value)
        {
            if (client != null) client.SetState(input, value);
        }

        /// <summary>Steers with weighted text prompts, bypassing the scene's mix.</summary>
        public void SetPrompts(IDictionary<string, float> prompts)
        {
            if (client != null) client.SetPrompts(prompts);
        }

        /// <summary>Steers with one prompt at full weight.</summary>
        public void SetPrompt(string prompt)
        {
            var prompts = new Dictionary<string, float>();
            prompts[prompt] = 1f;
            SetPrompts(prompts);
        }

        /// <summary>Hands control back to the scene's mix.</summary>
        public void ClearPrompts()
        {
            SetPrompts(new Dictionary<string, float>());
        }

        /// <summary>Fades out and pauses generation (the session and its buffer are kept).</summary>
        public void Pause()
        {
            if (client == null) return;
            playout.Paused = true;
            client.Pause();
        }

        /// <summary>Resumes after Pause (or starts a session created paused).</summary>
        public void Play()
        {
            if (client == null)
            {
                Connect();
                return;
            }
            playout.Paused = false;
            client.Play();
        }

        /// <summary>Fires one of the scene's stingers (sceneStingers) at its next play_at
        /// boundary. Returns the request id (-1 without a connection).</summary>
        public long Trigger(string stinger)
        {
            return client != null ? client.Trigger(stinger) : -1;
        }

        /// <summary>Live generation config (Lyria RealTime's knobs): e.g.
        /// SetGenerationConfig(new GenerationConfig { Bpm = 100, MuteDrums = true }). A set field
        /// overrides the scene until cleared; clear hands fields back to the scene ("*": all).</summary>
        public long SetGenerationConfig(GenerationConfig config, params string[] clear)
        {
            return client != null ? client.SetGenerationConfig(config, clear) : -1;
        }

        /// <summary>Hands config fields back to the scene's expressions (none given: all).</summary>
        public long ClearGenerationConfig(params string[] fields)
        {
            return SetGenerationConfig(null, fields.Length == 0 ? new[] { "*" } : fields);
        }

        /// <summary>Ends the session on the server and disconnects (Connect starts a new one).
        /// Waits up to 0.5 s for the server's confirmation (milliseconds on a LAN).</summary>
        public void Stop()
        {
            var c = client;
            if (c == null) return;
            c.StopSession();
            var deadline = Stopwatch.StartNew();
            while (!c.IsFinished && deadline.ElapsedMilliseconds < 500) System.Threading.Thread.Sleep(5);
            Disconnect();
            lastSessionId = null;
        }

        /// <summary>Restarts the music afresh in the same session. (In the editor, Unity
        /// also calls Reset() when the component is reset; with no connection it does nothing.)</summary>
        public void Reset()
        {
            if (client != null) client.ResetMusic();
        }

        // ------------------------------------------------------------------ main thread
        void Update()
        {
            var c = client;
            if (c == null) return;
            CadenzaEvent e;
            while (c.TryDequeueEvent(out e)) Dispatch(e);
            // Blend changes fire when their audio is heard. With no audio callback running
            // (audio disabled, no listener) they fire on arrival, after a short grace period.
            var p = playout;
            long playhead = -2;
            if (p != null && p.RenderedFrames > 0) playhead = p.Playhead;  // -1: no audio written yet
            else if (sinceConnect.Elapsed.TotalSeconds > 2) playhead = -1;
            ReleaseBeats(sinceConnect.Elapsed.TotalSeconds > 2);
            if (playhead == -2 || (playhead == -1 && p != null && p.RenderedFrames > 0)) return;
            foreach (Blend blend in c.Blends.TakeDue(playhead))
            {
                var handler = BlendChanged;
                if (handler != null) handler(blend);
            }
        }

        void ReleaseBeats(bool noAudioForAWhile)
        {
            foreach (ScheduledBeat due in beats.TakeDue(AudioSettings.dspTime, beatLeadSeconds, noAudioForAWhile))
            {
                if (due.Beat.IsBar || due.Beat.BeatInBar == 0) OnBar.Invoke(due);
                if (!due.Beat.IsBar) OnBeat.Invoke(due);
            }
        }

        void Dispatch(CadenzaEvent e)
        {
            switch (e.Kind)
            {
                case CadenzaEventKind.ServerEvent:
                    if (ServerEventReceived != null) ServerEventReceived(e.Message);
                    BeatInfo beat;
                    StingerInfo stinger;
                    if (BeatInfo.TryParse(e.Message, out beat)) beats.Add(beat);
                    else if (StingerInfo.TryParse(e.Message, out stinger) && StingerScheduled != null)
                        StingerScheduled(stinger);
                    break;
                case CadenzaEventKind.Ack:
                    if (RequestAcked != null) RequestAcked(e.Id, e.Message);
                    break;
                case CadenzaEventKind.Connected:
                    if (ConnectionChanged != null) ConnectionChanged(true);
                    break;
                case CadenzaEventKind.Disconnected:
                    if (logEvents) Debug.LogWarning("Cadenza: connection lost (" + e.Text + ")" +
                                                    (e.WillReconnect ? "; reconnecting" : ""));
                    if (ConnectionChanged != null) ConnectionChanged(false);
                    break;
                case CadenzaEventKind.Session:
                    lastSessionId = e.Session.SessionId;
                    if (logEvents) Debug.Log("Cadenza: session " + e.Session.SessionId + " (scene " +
                                             e.Session.Scene + ", engine " + e.Session.Engine + ")");
                    if (SessionStarted != null) SessionStarted(e.Session);
                    break;
                case CadenzaEventKind.Error:
                    if (logEvents) Debug.LogError("Cadenza: " + e.Error);
                    if (ErrorReceived != null) ErrorReceived(e.Error);
                    break;
                case CadenzaEventKind.Ended:
                    if (logEvents) Debug.Log("Cadenza: session ended (" + e.Text + ")");
                    lastSessionId = null;
                    break;
            }
        }

        // ------------------------------------------------------------------ audio thread
        void OnAudioFilterRead(float[] data, int channels)
        {
            var p = playout;
            if (p == null)
            {
                Array.Clear(data, 0, data.Length);
                return;
            }
            long playhead = p.Playhead;
            bool playing = p.State == PlayoutState.Playing && !p.Paused;
            double dsp = AudioSettings.dspTime;
            p.Render(data, channels, outputRate);
            if (playing && playhead >= 0) beats.Mark(playhead, dsp);
        }

        void OnAudioConfigurationChanged(bool deviceWasChanged)
        {
            outputRate = AudioSettings.outputSampleRate;
            // Unity stops every AudioSource when the output device changes.
            if (client != null && source != null && !source.isPlaying) source.Play();
        }
    }
}
