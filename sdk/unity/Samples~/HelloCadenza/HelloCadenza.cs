// The smallest Cadenza game: music that gets tenser as "danger" rises.
// Add this component to any GameObject, start `cadenza serve`, press Play.

using Cadenza.Unity;
using UnityEngine;

public class HelloCadenza : MonoBehaviour
{
    CadenzaMusic music;

    void Start()
    {
        music = gameObject.AddComponent<CadenzaMusic>();  // connects to ws://127.0.0.1:8765, scene "dungeon"
        music.BlendChanged += blend => Debug.Log("Now playing: " + blend);
    }

    void Update()
    {
        music.SetState("danger", Mathf.PingPong(Time.time / 10f, 1f));  // every frame is fine: coalesced
    }
}
