// The Cadenza WebSocket client: one session, streamed into a jitter buffer, steered with
// coalesced state updates, reconnecting and resuming (same session, continuing seq)
// after a dropped connection. Engine-agnostic: no UnityEngine, plain C# 7.2.
//
// Threads and tasks:
//   - the run loop (a thread-pool task) connects, sends create/attach, then runs the
//     receive loop: exactly one ReceiveAsync is pending at all times (Mono answers the
//     server's pings only then), and binary frames go straight into Audio;
//   - the send loop (one task per connection) is the only writer to the socket after the
//     handshake: control messages first, then state, at most MaxStateUpdatesPerSecond;
//   - the caller's thread (a game's main thread) calls SetState/SetPrompts/Play/... which
//     only queue work and never block on the network, and polls events with
//     TryDequeueEvent (or handles them in OnEvent, which runs on the client's threads).
//   - the audio thread reads Audio (usually through an AudioPlayout).

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Cadenza
{
    public sealed class CadenzaClientOptions
    {
        /// <summary>ws://HOST:8765/v1/stream (wss:// when the server uses TLS).</summary>
        public string Url = "ws://127.0.0.1:8765/v1/stream";
        /// <summary>Bearer token, when the server requires one.</summary>
        public string Token;
        /// <summary>A scene served by the runtime (or SceneYaml for an inline scene).</summary>
        public string Scene = "dungeon";
        public string SceneYaml;
        /// <summary>Engine name; null or empty: the server's default.</summary>
        public string Engine;
        /// <summary>-1: the scene's seed, else random.</summary>
        public long Seed = -1;
        public IDictionary<string, object> InitialState;
        public bool StartPaused;
        /// <summary>Attach to this existing session instead of creating one.</summary>
        public string SessionId;
        public PcmEncoding Encoding = PcmEncoding.S16LE;
        /// <summary>Beat-grid events to ask for (ServerEvent with Message.EventKind beat/bar;
        /// read them with BeatInfo.TryParse).</summary>
        public BeatEvents BeatEvents = BeatEvents.None;
        /// <summary>State messages per second at most (a game may set values every frame).</summary>
        public double MaxStateUpdatesPerSecond = 20;
        /// <summary>Jitter buffer capacity. It must hold the server's history burst after a
        /// reconnect (up to 4 s) plus its lookahead (0.5 s).</summary>
        public double BufferSeconds = 8;
        public bool Reconnect = true;
        /// <summary>Consecutive failed connection attempts before giving up.</summary>
        public int MaxReconnectAttempts = 20;
        public double ReconnectMaxDelaySeconds = 5;
        public double ConnectTimeoutSeconds = 10;
        /// <summary>When an attach finds the session gone (server restarted, idle
        /// timeout), create a new one from the same scene with the latest state.</summary>
        public bool RecreateLostSession = true;
    }

    public enum CadenzaEventKind
    {
        /// <summary>The WebSocket is open and create/attach was sent.</summary>
        Connected,
        /// <summary>The server's reply to create/attach: Session is set.</summary>
        Session,
        /// <summary>A blend arrived (Blend is set); it applies from Blend.StreamTime on.</summary>
        Blend,
        /// <summary>A request with an id succeeded (Id is set).</summary>
        Ack,
        Pong,
        /// <summary>Something failed: Error is set; Fatal means the client stopped.</summary>
        Error,
        /// <summary>A session event (Message.EventKind: underrun, state_changed, blend_changed ...).</summary>
        ServerEvent,
        /// <summary>The connection dropped; WillReconnect says whether the client retries.</summary>
        Disconnected,
        /// <summary>The session ended (Text is the reason); the client stops.</summary>
        Ended,
    }

    public sealed class CadenzaEvent
    {
        public CadenzaEventKind Kind;
        public SessionInfo Session;
        public Blend Blend;
        public ServerError Error;
        public ServerMessage Message;
        public string Text = "";
        public long Id = -1;
        public bool Fatal;
        public bool WillReconnect;

        public override string ToString()
        {
            switch (Kind)
            {
                case CadenzaEventKind.Error: return "error " + Error + (Fatal ? " (fatal)" : "");
                case CadenzaEventKind.Blend: return "blend @" + Blend.StreamTime + ": " + Blend;
                case CadenzaEventKind.Session: return "session " + Session.SessionId;
                default: return Kind + (Text.Length > 0 ? ": " + Text : "");
            }
        }
    }

    public sealed class CadenzaClient : IDisposable
    {
        const int MaxQueuedEvents = 1024;
        const int MaxMessageBytes = 4 << 20;

        readonly CadenzaClientOptions options;
        readonly AudioRingBuffer audio;
        readonly StateCoalescer state;
        readonly BlendTimeline blends = new BlendTimeline();
        readonly ConcurrentQueue<string> control = new ConcurrentQueue<string>();
        readonly ConcurrentQueue<CadenzaEvent> events = new ConcurrentQueue<CadenzaEvent>();
        readonly SemaphoreSlim wake = new SemaphoreSlim(0);
        readonly SemaphoreSlim sendLock = new SemaphoreSlim(1, 1);
        readonly CancellationTokenSource stop = new CancellationTokenSource();
        readonly Stopwatch clock = Stopwatch.StartNew();

        Task runner;
        volatile ClientWebSocket socket;
        volatile string sessionId;
        volatile SessionInfo session;
        volatile bool connected;
        volatile bool finished;
        volatile bool stopping;
        int wakePending;
        long nextSeq = -1;        // receive loop only: the seq expected next (-1: any)
        long nextId;
        float[] pcm = new float[2400 * 2];

        long framesReceived, chunksReceived, duplicates, seqGaps, reconnects, bytesReceived;

        /// <summary>Raised on the client's threads for every event (keep it short and
        /// thread-safe). Events are also queued for TryDequeueEvent.</summary>
        public Action<CadenzaEvent> OnEvent;

        /// <summary>Raised on the receive loop for every audio frame accepted, with its
        /// header and its samples decoded to floats (for meters, tests, recordings).</summary>
        public Action<AudioFrameHeader, float[]> OnAudioFrame;

        public CadenzaClient(CadenzaClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (string.IsNullOrEmpty(options.Url)) throw new ArgumentException("options.Url is required");
            if (options.SessionId == null && string.IsNullOrEmpty(options.Scene) && options.SceneYaml == null)
                throw new ArgumentException("give options.Scene, options.SceneYaml or options.SessionId");
            this.options = options;
            audio = new AudioRingBuffer((int)(Math.Max(1.0, options.BufferSeconds) * AudioPlayout.SourceRate));
            state = new StateCoalescer(options.MaxStateUpdatesPerSecond);
            sessionId = options.SessionId;
        }

        /// <summary>The jitter buffer this client fills (48 kHz stereo).</summary>
        public AudioRingBuffer Audio { get { return audio; } }

        /// <summary>Blends by stream time, for firing events when the audio is heard.</summary>
        public BlendTimeline Blends { get { return blends; } }

        public string SessionId { get { return sessionId; } }
        public SessionInfo Session { get { return session; } }
        public bool IsConnected { get { return connected; } }
        /// <summary>True once the client has stopped for good (ended, fatal error, Dispose).</summary>
        public bool IsFinished { get { return finished; } }

        public long FramesReceived { get { return Interlocked.Read(ref framesReceived); } }
        public long ChunksReceived { get { return Interlocked.Read(ref chunksReceived); } }
        public long BytesReceived { get { return Interlocked.Read(ref bytesReceived); } }
        /// <summary>Frames received twice (after a resume) and dropped.</summary>
        public long Duplicates { get { return Interlocked.Read(ref duplicates); } }
        /// <summary>Times seq jumped (audio the server no longer had after a long drop).</summary>
        public long SeqGaps { get { return Interlocked.Read(ref seqGaps); } }
        public long Reconnects { get { return Interlocked.Read(ref reconnects); } }
        public StateCoalescer StateUpdates { get { return state; } }

        // ----------------------------------------------------------------- lifecycle
        /// <summary>Connects in the background; returns at once.</summary>
        public void Start()
        {
            if (runner != null) throw new InvalidOperationException("the client is already started");
            runner = Task.Run(new Func<Task>(RunAsync));
        }

        /// <summary>Disconnects (the session lives on on the server until its idle timeout;
        /// call StopSession first to end it).</summary>
        public void Dispose()
        {
            Stop(2.0);
        }

        public void Stop(double timeoutSeconds)
        {
            if (stopping) return;
            stopping = true;
            var ws = socket;
            int ms = (int)(timeoutSeconds * 1000);
            if (ws != null && ws.State == WebSocketState.Open && sendLock.Wait(ms / 4))
            {
                try
                {
                    ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client stopped",
                                        CancellationToken.None).Wait(ms / 4);
                }
                catch (Exception) { }
                finally { sendLock.Release(); }
            }
            // Give the server a moment to answer the close (a clean 1000 on both sides),
            // then cancel: on Mono, cancelling the pending receive aborts the socket.
            Wait(ms / 4);
            stop.Cancel();
            Wake();
            Wait(ms / 4);
            finished = true;
        }

        void Wait(int ms)
        {
            if (runner == null) return;
            try { runner.Wait(ms); }
            catch (Exception) { }
        }

        // ----------------------------------------------------------------- steering
        /// <summary>Sets one scene input (number, string or bool). Coalesced: at most
        /// MaxStateUpdatesPerSecond messages are sent, each with the latest values.</summary>
        public void SetState(string name, object value)
        {
            state.Set(name, value);
            Wake();
        }

        public void SetState(IDictionary<string, object> values)
        {
            state.SetMany(values);
            Wake();
        }

        /// <summary>Steers with weighted prompts, bypassing the scene; null or empty hands
        /// control back to the scene. Returns the request id (acked or answered by an error).</summary>
        public long SetPrompts(IDictionary<string, float> prompts)
        {
            long id = NextId();
            return Enqueue(Protocol.Prompts(prompts, id), id);
        }

        /// <summary>Fires one of the scene's stingers (SessionInfo.Stingers) at its next
        /// play_at boundary; a "stinger" ServerEvent says where it starts. Returns the request id.</summary>
        public long Trigger(string stinger)
        {
            long id = NextId();
            return Enqueue(Protocol.Trigger(stinger, id), id);
        }

        /// <summary>Live generation config: the set fields override the scene's expressions
        /// until cleared; clear names fields handed back to the scene ("*": all). The Ack's
        /// Message.Raw carries "config" (the override now in effect) and "unsupported".</summary>
        public long SetGenerationConfig(GenerationConfig config, params string[] clear)
        {
            long id = NextId();
            return Enqueue(Protocol.Config(config, clear, id), id);
        }

        public long Play() { return SendControl("play"); }
        public long Pause() { return SendControl("pause"); }
        /// <summary>Clears the musical context: the music starts afresh, same session.</summary>
        public long ResetMusic() { return SendControl("reset"); }
        /// <summary>Ends the session on the server (an Ended event follows).</summary>
        public long StopSession() { return SendControl("stop"); }
        public long Ping()
        {
            long id = NextId();
            return Enqueue(Protocol.Ping(id), id);
        }

        long SendControl(string action)
        {
            long id = NextId();
            return Enqueue(Protocol.Control(action, id), id);
        }

        long Enqueue(string message, long id)
        {
            control.Enqueue(message);
            Wake();
            return id;
        }

        long NextId()
        {
            return Interlocked.Increment(ref nextId);
        }

        void Wake()
        {
            if (Interlocked.Exchange(ref wakePending, 1) == 0) wake.Release();
        }

        /// <summary>Takes the next queued event (call from the game's thread, e.g. once per frame).</summary>
        public bool TryDequeueEvent(out CadenzaEvent e)
        {
            return events.TryDequeue(out e);
        }

        void Raise(CadenzaEvent e)
        {
            events.Enqueue(e);
            CadenzaEvent dropped;
            while (events.Count > MaxQueuedEvents && events.TryDequeue(out dropped)) { }
            var handler = OnEvent;
            if (handler != null)
            {
                try { handler(e); }
                catch (Exception) { }  // a faulty handler must not kill the network loop
            }
        }

        void RaiseError(string code, string message, bool fatal)
        {
            Raise(new CadenzaEvent
            {
                Kind = CadenzaEventKind.Error, Error = new ServerError(code, message, "", -1),
                Fatal = fatal, Text = message,
            });
        }

        // ----------------------------------------------------------------- run loop
        sealed class Outcome
        {
            public ServerError HandshakeError;  // error before the session reply
            public string EndedReason;          // from an "ended" event
            public int CloseCode = -1;
            public string Failure;              // exception text
            public bool GotAudio;
            public bool GotSession;
        }

        async Task RunAsync()
        {
            int failures = 0;
            CancellationToken token = stop.Token;
            while (!token.IsCancellationRequested && !finished && !stopping)
            {
                var outcome = new Outcome();
                await ConnectOnceAsync(outcome, token).ConfigureAwait(false);
                if (stopping || token.IsCancellationRequested) break;
                if (outcome.GotAudio || outcome.GotSession) failures = 0;

                string reason = outcome.EndedReason;
                if (reason != null && reason != "shutdown")
                {
                    finished = true;
                    Raise(new CadenzaEvent { Kind = CadenzaEventKind.Ended, Text = reason });
                    break;
                }
                ServerError refused = outcome.HandshakeError;
                if (refused != null)
                {
                    bool attaching = sessionId != null;
                    if (attaching && refused.Code == "not_found" && options.RecreateLostSession
                        && (options.Scene != null || options.SceneYaml != null))
                    {
                        RaiseError("not_found", "session " + sessionId + " is gone; creating a new one", false);
                        sessionId = null;
                        nextSeq = -1;
                        blends.Clear();
                        continue;  // at once, no back-off
                    }
                    if (refused.Code != "resource_exhausted" && refused.Code != "unavailable")
                    {
                        finished = true;
                        Raise(new CadenzaEvent { Kind = CadenzaEventKind.Error, Error = refused, Fatal = true,
                                                 Text = refused.Message });
                        break;
                    }
                }
                failures++;
                bool retry = options.Reconnect && failures <= options.MaxReconnectAttempts;
                Raise(new CadenzaEvent
                {
                    Kind = CadenzaEventKind.Disconnected, WillReconnect = retry,
                    Text = outcome.Failure ?? (reason == "shutdown" ? "server shut down" :
                                               "closed with code " + outcome.CloseCode),
                });
                if (!retry)
                {
                    finished = true;
                    RaiseError("unavailable", "could not reach " + options.Url + " after " + failures +
                               " attempts: is `cadenza serve` running there? (or a wrong address, or a refused token)", true);
                    break;
                }
                // Almost at once the first time (a cluster restores a dropped session
                // elsewhere in about half a second), then backing off from 0.2 s.
                double delay = failures == 1 ? 0.05
                    : Math.Min(options.ReconnectMaxDelaySeconds, 0.2 * Math.Pow(2, failures - 2));
                try { await Task.Delay(TimeSpan.FromSeconds(delay), token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                Interlocked.Increment(ref reconnects);
            }
            connected = false;
        }

        async Task ConnectOnceAsync(Outcome outcome, CancellationToken token)
        {
            var ws = new ClientWebSocket();
            if (!string.IsNullOrEmpty(options.Token))
                ws.Options.SetRequestHeader("Authorization", "Bearer " + options.Token);
            var connection = CancellationTokenSource.CreateLinkedTokenSource(token);
            Task sender = null;
            try
            {
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    timeout.CancelAfter(TimeSpan.FromSeconds(options.ConnectTimeoutSeconds));
                    await ws.ConnectAsync(new Uri(options.Url), timeout.Token).ConfigureAwait(false);
                }
                socket = ws;
                string first = sessionId == null ? CreateMessage()
                    : Protocol.Attach(sessionId, Interlocked.Read(ref nextSeq), options.Encoding, -1,
                                      options.BeatEvents);
                await SendTextAsync(ws, first, token).ConfigureAwait(false);
                connected = true;
                Raise(new CadenzaEvent { Kind = CadenzaEventKind.Connected, Text = options.Url });
                sender = Task.Run(new Func<Task>(() => SendLoopAsync(ws, connection.Token)));
                await ReceiveLoopAsync(ws, outcome, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                outcome.Failure = token.IsCancellationRequested ? "stopped" : "connection timed out";
            }
            catch (Exception e)
            {
                outcome.Failure = Describe(e);
            }
            finally
            {
                connected = false;
                socket = null;
                connection.Cancel();
                Wake();
                if (sender != null)
                {
                    try { await sender.ConfigureAwait(false); }
                    catch (Exception) { }
                }
                connection.Dispose();
                ws.Dispose();
            }
        }

        static string Describe(Exception e)
        {
            var inner = e;
            while (inner.InnerException != null) inner = inner.InnerException;
            return inner == e ? e.Message : e.Message + " (" + inner.Message + ")";
        }

        string CreateMessage()
        {
            var initial = new Dictionary<string, object>();
            if (options.InitialState != null)
                foreach (var kv in options.InitialState) initial[kv.Key] = kv.Value;
            foreach (var kv in state.Latest()) initial[kv.Key] = kv.Value;  // after a lost session
            return Protocol.Create(new CreateRequest
            {
                Scene = options.Scene, SceneYaml = options.SceneYaml, Engine = options.Engine,
                Seed = options.Seed, State = initial, Paused = options.StartPaused, Encoding = options.Encoding,
                BeatEvents = options.BeatEvents,
            });
        }

        async Task SendTextAsync(ClientWebSocket ws, string text, CancellationToken token)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            await sendLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await ws.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, token)
                        .ConfigureAwait(false);
            }
            finally
            {
                sendLock.Release();
            }
        }

        // Control messages jump ahead of state; state goes out at most at the coalescer's
        // rate. A message whose send fails stays queued for the next connection.
        async Task SendLoopAsync(ClientWebSocket ws, CancellationToken token)
        {
            while (!token.IsCancellationRequested)
            {
                Interlocked.Exchange(ref wakePending, 0);
                string message;
                while (control.TryPeek(out message))
                {
                    await SendTextAsync(ws, message, token).ConfigureAwait(false);
                    control.TryDequeue(out message);
                }
                double wait;
                var values = state.TakeDue(clock.Elapsed.TotalSeconds, out wait);
                if (values != null)
                {
                    try
                    {
                        await SendTextAsync(ws, Protocol.State(values, NextId()), token).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        state.Restore(values);
                        throw;
                    }
                    continue;
                }
                int ms = double.IsInfinity(wait) ? Timeout.Infinite : Math.Max(1, (int)Math.Ceiling(wait * 1000));
                await wake.WaitAsync(ms, token).ConfigureAwait(false);
            }
        }

        async Task ReceiveLoopAsync(ClientWebSocket ws, Outcome outcome, CancellationToken token)
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                int count = 0;
                WebSocketReceiveResult result;
                do
                {
                    if (count == buffer.Length)
                    {
                        if (buffer.Length >= MaxMessageBytes) throw new InvalidOperationException("message too big");
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                    result = await ws.ReceiveAsync(new ArraySegment<byte>(buffer, count, buffer.Length - count), token)
                                     .ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        outcome.CloseCode = result.CloseStatus.HasValue ? (int)result.CloseStatus.Value : -1;
                        try
                        {
                            await sendLock.WaitAsync(token).ConfigureAwait(false);
                            try
                            {
                                if (ws.State == WebSocketState.CloseReceived)
                                    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", token)
                                            .ConfigureAwait(false);
                            }
                            finally { sendLock.Release(); }
                        }
                        catch (Exception) { }
                        return;
                    }
                    count += result.Count;
                } while (!result.EndOfMessage);

                Interlocked.Add(ref bytesReceived, count);
                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    if (OnAudio(buffer, count)) outcome.GotAudio = true;
                }
                else
                {
                    OnText(Encoding.UTF8.GetString(buffer, 0, count), outcome);
                }
            }
        }

        bool OnAudio(byte[] data, int length)
        {
            AudioFrameHeader h;
            string error;
            if (!Protocol.TryParseHeader(data, length, out h, out error))
            {
                RaiseError("internal", "unreadable audio frame: " + error, false);
                return false;
            }
            long expected = Interlocked.Read(ref nextSeq);
            if (expected >= 0 && h.Seq < expected)
            {
                Interlocked.Increment(ref duplicates);
                return false;
            }
            if (expected >= 0 && h.Seq > expected) Interlocked.Increment(ref seqGaps);
            Interlocked.Exchange(ref nextSeq, h.Seq + 1);
            int samples = h.Frames * h.Channels;
            if (pcm.Length < samples) pcm = new float[samples];
            Protocol.DecodePcm(data, h.HeaderSize, h.PayloadBytes, h.Encoding, pcm);
            audio.Write(pcm, h.Frames, h.Channels, h.StreamTime);
            Interlocked.Add(ref framesReceived, h.Frames);
            Interlocked.Increment(ref chunksReceived);
            var handler = OnAudioFrame;
            if (handler != null)
            {
                try { handler(h, pcm); }
                catch (Exception) { }
            }
            return true;
        }

        void OnText(string text, Outcome outcome)
        {
            ServerMessage m;
            try
            {
                m = Protocol.ParseServer(text);
            }
            catch (JsonException e)
            {
                RaiseError("internal", "unreadable server message: " + e.Message, false);
                return;
            }
            switch (m.Kind)
            {
                case ServerMessageKind.Session:
                    outcome.GotSession = true;
                    session = m.Session;
                    sessionId = m.Session.SessionId;
                    Raise(new CadenzaEvent { Kind = CadenzaEventKind.Session, Session = m.Session, Message = m });
                    break;
                case ServerMessageKind.Blend:
                    blends.Add(m.Blend);
                    Raise(new CadenzaEvent { Kind = CadenzaEventKind.Blend, Blend = m.Blend, Message = m });
                    break;
                case ServerMessageKind.Ack:
                    Raise(new CadenzaEvent { Kind = CadenzaEventKind.Ack, Id = m.Id, Message = m });
                    break;
                case ServerMessageKind.Pong:
                    Raise(new CadenzaEvent { Kind = CadenzaEventKind.Pong, Id = m.Id, Message = m });
                    break;
                case ServerMessageKind.Error:
                    if (!outcome.GotSession) outcome.HandshakeError = m.Error;
                    else Raise(new CadenzaEvent { Kind = CadenzaEventKind.Error, Error = m.Error, Id = m.Id,
                                                  Message = m, Text = m.Error.Message });
                    break;
                case ServerMessageKind.Event:
                    if (m.EventKind == "ended") outcome.EndedReason = Json.GetString(m.Raw, "reason", "closed");
                    else Raise(new CadenzaEvent { Kind = CadenzaEventKind.ServerEvent, Message = m, Blend = m.Blend,
                                                  Text = m.EventKind });
                    break;
            }
        }
    }
}
