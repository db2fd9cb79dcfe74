// Arrow keys / WASD move the player on the ground plane.

using UnityEngine;

namespace CadenzaSamples
{
    public class PlayerController : MonoBehaviour
    {
        public float speed = 6f;

        void Update()
        {
            var move = new Vector3(Input.GetAxis("Horizontal"), 0f, Input.GetAxis("Vertical"));
            transform.Translate(move * (speed * Time.deltaTime));
        }
    }
}
