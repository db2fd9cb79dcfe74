// Swells the object on the music's downbeats: CadenzaMusic raises OnBar slightly ahead of
// the beat with its DSP time, and Update starts the swell when that time has come.

using Cadenza;
using UnityEngine;

namespace CadenzaSamples
{
    public class BarPulse : MonoBehaviour
    {
        public float swell = 0.3f;
        public float decaySeconds = 0.25f;
        double startAt = -1;

        public void OnBar(ScheduledBeat bar)
        {
            startAt = double.IsNaN(bar.DspTime) ? AudioSettings.dspTime : bar.DspTime;
        }

        void Update()
        {
            if (startAt < 0) return;
            double since = AudioSettings.dspTime - startAt;
            float k = since < 0 ? 0f : Mathf.Clamp01(1f - (float)since / decaySeconds);
            transform.localScale = Vector3.one * (1f + swell * k);
        }
    }
}
