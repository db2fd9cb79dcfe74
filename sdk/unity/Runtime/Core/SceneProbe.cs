// Asks a running server about a scene without playing it: creates a paused session,
// reads the server's session reply (inputs with their defaults, stingers, engine), then
// ends the session. For editor tooling (the CadenzaMusic inspector's "Test connection" and
// "Fetch scene"). Blocks the calling thread for at most the timeout; engine-agnostic.

using System;
using System.Threading;

namespace Cadenza
{
    public sealed class SceneProbeResult
    {
        /// <summary>True when the server answered with a session.</summary>
        public bool Ok;
        /// <summary>The server's description of the scene's session (inputs, stingers ...).</summary>
        public SessionInfo Session;
        /// <summary>Why not, when Ok is false: a protocol error (code, message, field) or
        /// "unavailable" when the server could not be reached.</summary>
        public ServerError Error;
        /// <summary>Seconds from connecting to the session reply.</summary>
        public double Seconds;

        public override string ToString()
        {
            return Ok ? "ok: scene " + Session.Scene + " on " + Session.Engine + " (" + Session.InputNames.Count +
                        " inputs, " + Session.Stingers.Count + " stingers)"
                      : "failed: " + Error;
        }
    }

    public static class SceneProbe
    {
        public static SceneProbeResult Probe(string url, string token, string scene, double timeoutSeconds = 5)
        {
            var result = new SceneProbeResult();
            var done = new ManualResetEventSlim(false);
            var started = DateTime.UtcNow;
            var client = new CadenzaClient(new CadenzaClientOptions
            {
                Url = url, Token = string.IsNullOrEmpty(token) ? null : token, Scene = scene, StartPaused = true,
                Reconnect = false, MaxReconnectAttempts = 0, RecreateLostSession = false,
                ConnectTimeoutSeconds = timeoutSeconds, BufferSeconds = 1,
            });
            client.OnEvent = e =>
            {
                if (e.Kind == CadenzaEventKind.Session)
                {
                    result.Ok = true;
                    result.Session = e.Session;
                    done.Set();
                }
                else if (e.Kind == CadenzaEventKind.Error && e.Fatal)
                {
                    result.Error = e.Error;
                    done.Set();
                }
            };
            try
            {
                client.Start();
                if (!done.Wait(TimeSpan.FromSeconds(timeoutSeconds)) && result.Error == null)
                    result.Error = new ServerError("deadline_exceeded", "no answer from " + url + " within " +
                                                   timeoutSeconds + " s (is `cadenza serve` running?)", "", -1);
                result.Seconds = (DateTime.UtcNow - started).TotalSeconds;
                if (result.Ok)
                {
                    client.StopSession();  // the probe's session must not idle on the server
                    var deadline = DateTime.UtcNow.AddSeconds(1);
                    while (!client.IsFinished && DateTime.UtcNow < deadline) Thread.Sleep(10);
                }
            }
            finally
            {
                client.Stop(1.0);
                done.Dispose();
            }
            return result;
        }
    }
}
