// Builds the sample's little dungeon when you press Play (in any scene of this project,
// the empty default one included): a player cube, three enemies, a forest zone and a cave
// zone, a camera, and the CadenzaMusic component that the game steers.
//
//   danger ← how close the nearest enemy is (DangerSensor), or the HUD's slider
//   biome  ← the zone the player stands in (BiomeZone triggers), "town" elsewhere
//   the player cube swells on every downbeat (OnBar), the "hit" stinger fires on contact

using Cadenza.Unity;
using UnityEngine;

namespace CadenzaSamples
{
    public class DungeonDemo : MonoBehaviour
    {
        static bool built;

        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.AfterSceneLoad)]
        static void Bootstrap()
        {
            if (built) return;
            built = true;
            new GameObject("Cadenza Dungeon Demo").AddComponent<DungeonDemo>();
        }

        void Awake()
        {
            var musicObject = new GameObject("Music");
            var music = musicObject.AddComponent<CadenzaMusic>();  // scene "dungeon", local server
            music.BlendChanged += blend => Debug.Log("Cadenza blend: " + blend);

            var player = GameObject.CreatePrimitive(PrimitiveType.Cube);
            player.name = "Player";
            player.transform.position = Vector3.zero;
            var body = player.AddComponent<Rigidbody>();  // trigger events need a rigidbody
            body.isKinematic = true;
            body.useGravity = false;
            player.AddComponent<PlayerController>();
            var pulse = player.AddComponent<BarPulse>();
            music.OnBar.AddListener(pulse.OnBar);
            var sensor = player.AddComponent<DangerSensor>();
            sensor.music = music;

            sensor.enemies = new Transform[3];
            for (int i = 0; i < 3; i++)
            {
                var enemy = GameObject.CreatePrimitive(PrimitiveType.Sphere);
                enemy.name = "Enemy " + (i + 1);
                enemy.transform.position = new Vector3(-12f + 12f * i, 0f, 8f);
                enemy.GetComponent<Renderer>().material.color = Color.red;
                sensor.enemies[i] = enemy.transform;
            }

            MakeZone("Forest", new Vector3(-12f, 0f, 0f), new Color(0.2f, 0.6f, 0.2f), "forest", music);
            MakeZone("Cave", new Vector3(12f, 0f, 0f), new Color(0.25f, 0.25f, 0.3f), "cave", music);

            var hud = musicObject.AddComponent<DungeonHud>();
            hud.music = music;
            hud.sensor = sensor;

            var cam = Camera.main;
            if (cam != null)
            {
                cam.transform.position = new Vector3(0f, 25f, -12f);
                cam.transform.LookAt(Vector3.zero);
            }
        }

        static void MakeZone(string name, Vector3 center, Color color, string biome, CadenzaMusic music)
        {
            var zone = GameObject.CreatePrimitive(PrimitiveType.Cube);
            zone.name = name + " zone";
            zone.transform.position = center + new Vector3(0f, -0.45f, 0f);
            zone.transform.localScale = new Vector3(8f, 0.1f, 12f);
            zone.GetComponent<Renderer>().material.color = color;
            zone.GetComponent<Collider>().isTrigger = true;
            var trigger = zone.AddComponent<BiomeZone>();
            trigger.biome = biome;
            trigger.music = music;
        }
    }
}
