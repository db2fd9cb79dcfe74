// The CadenzaMusic inspector: the default fields, plus "Test connection" (asks the server
// for a paused session of the scene and ends it) and "Fetch scene" (copies the scene's
// inputs and stingers into the component, with undo). In play mode it lists the stingers
// as buttons that fire them. The probe blocks the editor for at most 5 s.

using System.Collections.Generic;
using UnityEditor;
using UnityEngine;

namespace Cadenza.Unity.EditorTools
{
    [CustomEditor(typeof(CadenzaMusic))]
    public sealed class CadenzaMusicEditor : UnityEditor.Editor
    {
        string status = "";
        bool statusOk;

        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var music = (CadenzaMusic)target;
            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Cadenza server", EditorStyles.boldLabel);
            GUILayout.BeginHorizontal();
            if (GUILayout.Button("Test connection")) Show(CadenzaInspector.TestConnection(music));
            if (GUILayout.Button("Fetch scene"))
            {
                Undo.RecordObject(music, "Fetch Cadenza scene");
                var result = CadenzaInspector.FetchScene(music);
                if (result.Ok) EditorUtility.SetDirty(music);
                Show(result);
            }
            GUILayout.EndHorizontal();
            if (status.Length > 0) EditorGUILayout.HelpBox(status, statusOk ? MessageType.Info : MessageType.Error);

            if (Application.isPlaying && music.IsConnected && music.sceneStingers.Length > 0)
            {
                EditorGUILayout.LabelField("Stingers", EditorStyles.boldLabel);
                foreach (string stinger in music.sceneStingers)
                    if (GUILayout.Button("Trigger " + stinger)) music.Trigger(stinger);
            }
        }

        void Show(SceneProbeResult result)
        {
            statusOk = result.Ok;
            status = CadenzaInspector.Describe(result);
        }
    }

    /// <summary>The inspector's actions, callable without an inspector (tests, menu items).</summary>
    public static class CadenzaInspector
    {
        public static double TimeoutSeconds = 5;

        public static SceneProbeResult TestConnection(CadenzaMusic music)
        {
            return SceneProbe.Probe(music.address, music.token, music.scene, TimeoutSeconds);
        }

        /// <summary>Probes the scene and, when the server answers, fills sceneInputs and
        /// sceneStingers from it.</summary>
        public static SceneProbeResult FetchScene(CadenzaMusic music)
        {
            var result = TestConnection(music);
            if (result.Ok) Apply(music, result.Session);
            return result;
        }

        public static void Apply(CadenzaMusic music, SessionInfo session)
        {
            music.sceneInputs = new List<string>(session.InputNames).ToArray();
            music.sceneStingers = new List<string>(session.Stingers).ToArray();
        }

        public static string Describe(SceneProbeResult result)
        {
            if (!result.Ok)
            {
                var e = result.Error;
                string hint = e.Code == "not_found" ? " (check the scene name)"
                    : e.Code == "unavailable" || e.Code == "deadline_exceeded"
                        ? " (is `cadenza serve` running at this address? a refused token looks the same)" : "";
                return "Failed: " + e + hint;
            }
            var s = result.Session;
            return "Connected in " + (result.Seconds * 1000).ToString("0") + " ms: scene '" + s.Scene + "' on " +
                   s.Engine + "\nInputs: " + string.Join(", ", s.InputNames) + "\nStingers: " +
                   (s.Stingers.Count > 0 ? string.Join(", ", s.Stingers) : "none");
        }
    }
}
