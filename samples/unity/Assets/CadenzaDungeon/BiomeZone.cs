// A trigger volume that switches the scene's "biome" input while the player is inside.

using Cadenza.Unity;
using UnityEngine;

namespace CadenzaSamples
{
    public class BiomeZone : MonoBehaviour
    {
        public string biome = "cave";
        public string outside = "town";
        public CadenzaMusic music;

        void OnTriggerEnter(Collider other)
        {
            if (music != null && other.GetComponent<PlayerController>() != null) music.SetState("biome", biome);
        }

        void OnTriggerExit(Collider other)
        {
            if (music != null && other.GetComponent<PlayerController>() != null) music.SetState("biome", outside);
        }
    }
}
