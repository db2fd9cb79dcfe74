// Sets "danger" every frame from the distance to the nearest enemy: 1 when touching,
// 0 from eight metres away. Calling SetState every frame is fine: CadenzaMusic sends at
// most maxStateUpdatesPerSecond messages, always with the latest value. Touching an enemy
// fires the scene's "hit" stinger (once per touch; the scene's cooldown does the rest).

using Cadenza.Unity;
using UnityEngine;

namespace CadenzaSamples
{
    public class DangerSensor : MonoBehaviour
    {
        public CadenzaMusic music;
        public Transform[] enemies = new Transform[0];
        public float safeDistance = 8f;

        /// <summary>When set (0..1), used instead of the enemies' distance (the HUD's slider).</summary>
        public float manualDanger = -1f;

        public float Danger { get; private set; }

        bool touching;

        void Update()
        {
            float nearest = float.MaxValue;
            foreach (var enemy in enemies)
                if (enemy != null) nearest = Mathf.Min(nearest, Vector3.Distance(transform.position, enemy.position));
            Danger = manualDanger >= 0f ? manualDanger : Mathf.Clamp01(1f - (nearest - 1f) / (safeDistance - 1f));
            if (music == null) return;
            music.SetState("danger", Danger);
            bool touchingNow = nearest < 1.5f;
            if (touchingNow && !touching) music.Trigger("hit");
            touching = touchingNow;
        }
    }
}
