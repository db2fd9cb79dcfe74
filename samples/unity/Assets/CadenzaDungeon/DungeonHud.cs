// A corner of text: connection, what is playing, buffer level, and a slider that drives
// "danger" by hand.

using Cadenza.Unity;
using UnityEngine;

namespace CadenzaSamples
{
    public class DungeonHud : MonoBehaviour
    {
        public CadenzaMusic music;
        public DangerSensor sensor;
        bool manual;
        float slider;

        void OnGUI()
        {
            if (music == null || sensor == null) return;
            GUILayout.BeginArea(new Rect(10, 10, 360, 200));
            GUILayout.Label(music.IsConnected ? "Cadenza: connected" : "Cadenza: connecting to " + music.address);
            var blend = music.CurrentBlend;
            GUILayout.Label("Playing: " + (blend != null ? blend.ToString() : "-"));
            GUILayout.Label("Danger: " + sensor.Danger.ToString("0.00") + "   buffered: " +
                            music.BufferedSeconds.ToString("0.00") + " s");
            manual = GUILayout.Toggle(manual, "Drive danger with the slider");
            slider = GUILayout.HorizontalSlider(slider, 0f, 1f);
            sensor.manualDanger = manual ? slider : -1f;
            GUILayout.EndArea();
        }
    }
}
