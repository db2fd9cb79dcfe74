// A stub of the few UnityEngine types Cadenza's glue and samples use, with Unity's own
// signatures, so that Mono's compiler catches a wrong signature or a missing member
// without a Unity install. It is NOT Unity: components are plain objects, messages
// (Awake, OnEnable, Update, OnAudioFilterRead ...) are sent by reflection, and nothing
// renders or plays. Test-only knobs live in UnityEngineStub.Stub, outside UnityEngine.
// Keep members in Unity's shape (names, static-ness, parameter lists).

using System;
using System.Collections.Generic;
using System.Reflection;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }

        public static void Destroy(Object obj) { }
        public static void DestroyImmediate(Object obj) { }

        public static implicit operator bool(Object exists)
        {
            return !ReferenceEquals(exists, null);
        }
    }

    public class Component : Object
    {
        public GameObject gameObject { get; internal set; }
        public Transform transform { get { return gameObject.transform; } }

        public T GetComponent<T>()
        {
            return gameObject.GetComponent<T>();
        }
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
    }

    public class MonoBehaviour : Behaviour
    {
    }

    public sealed class Transform : Component
    {
        public Vector3 position { get; set; }
        public Vector3 localScale { get; set; }

        public void Translate(Vector3 translation)
        {
            position = position + translation;
        }

        public void LookAt(Vector3 worldPosition) { }
    }

    public enum PrimitiveType
    {
        Sphere = 0,
        Capsule = 1,
        Cylinder = 2,
        Cube = 3,
        Plane = 4,
        Quad = 5,
    }

    public sealed class GameObject : Object
    {
        readonly List<Component> components = new List<Component>();

        public GameObject() : this("New Game Object") { }

        public GameObject(string name)
        {
            this.name = name;
            var t = new Transform { gameObject = this };
            t.localScale = new Vector3(1, 1, 1);
            components.Add(t);
        }

        public Transform transform { get { return (Transform)components[0]; } }

        public static GameObject CreatePrimitive(PrimitiveType type)
        {
            var go = new GameObject(type.ToString());
            go.AddComponent<MeshRenderer>();
            if (type == PrimitiveType.Sphere) go.AddComponent<SphereCollider>();
            else go.AddComponent<BoxCollider>();
            return go;
        }

        public T AddComponent<T>() where T : Component
        {
            return (T)AddComponent(typeof(T));
        }

        public Component AddComponent(Type componentType)
        {
            foreach (RequireComponent req in componentType.GetCustomAttributes(typeof(RequireComponent), true))
                if (GetComponentOf(req.m_Type0) == null) AddComponent(req.m_Type0);
            var c = (Component)Activator.CreateInstance(componentType);
            c.gameObject = this;
            c.name = name;
            var b = c as Behaviour;
            if (b != null) b.enabled = true;
            components.Add(c);
            if (active) Wake(c);  // as Unity does for an active object; else on SetActive(true)
            return c;
        }

        readonly HashSet<Component> awake = new HashSet<Component>();
        bool active = true;

        public bool activeSelf { get { return active; } }

        public void SetActive(bool value)
        {
            if (value == active) return;
            active = value;
            foreach (var c in components.ToArray())
            {
                if (value) Wake(c);
                else UnityEngineStub.Stub.Send(c, "OnDisable");
            }
        }

        void Wake(Component c)
        {
            if (awake.Add(c)) UnityEngineStub.Stub.Send(c, "Awake");
            UnityEngineStub.Stub.Send(c, "OnEnable");
        }

        public T GetComponent<T>()
        {
            object c = GetComponentOf(typeof(T));
            return c == null ? default(T) : (T)c;
        }

        Component GetComponentOf(Type type)
        {
            foreach (var c in components)
                if (type.IsInstanceOfType(c)) return c;
            return null;
        }
    }

    public struct Vector3
    {
        public float x;
        public float y;
        public float z;

        public Vector3(float x, float y, float z)
        {
            this.x = x;
            this.y = y;
            this.z = z;
        }

        public static Vector3 zero { get { return new Vector3(0, 0, 0); } }
        public static Vector3 one { get { return new Vector3(1, 1, 1); } }
        public float magnitude { get { return (float)Math.Sqrt(x * x + y * y + z * z); } }

        public static float Distance(Vector3 a, Vector3 b)
        {
            return (a - b).magnitude;
        }

        public static Vector3 operator +(Vector3 a, Vector3 b) { return new Vector3(a.x + b.x, a.y + b.y, a.z + b.z); }
        public static Vector3 operator -(Vector3 a, Vector3 b) { return new Vector3(a.x - b.x, a.y - b.y, a.z - b.z); }
        public static Vector3 operator *(Vector3 a, float d) { return new Vector3(a.x * d, a.y * d, a.z * d); }
    }

    public struct Color
    {
        public float r;
        public float g;
        public float b;
        public float a;

        public Color(float r, float g, float b)
        {
            this.r = r;
            this.g = g;
            this.b = b;
            a = 1f;
        }

        public static Color red { get { return new Color(1, 0, 0); } }
        public static Color green { get { return new Color(0, 1, 0); } }
        public static Color gray { get { return new Color(0.5f, 0.5f, 0.5f); } }
    }

    public struct Rect
    {
        public float x;
        public float y;
        public float width;
        public float height;

        public Rect(float x, float y, float width, float height)
        {
            this.x = x;
            this.y = y;
            this.width = width;
            this.height = height;
        }
    }

    public class Material : Object
    {
        public Color color { get; set; }
    }

    public class Renderer : Component
    {
        Material m = new Material();
        public Material material { get { return m; } set { m = value; } }
    }

    public class MeshRenderer : Renderer { }

    public class Collider : Component
    {
        public bool isTrigger { get; set; }
    }

    public class BoxCollider : Collider { }

    public class SphereCollider : Collider { }

    public class Rigidbody : Component
    {
        public bool isKinematic { get; set; }
        public bool useGravity { get; set; }
    }

    public class Camera : Behaviour
    {
        public static Camera main { get { return null; } }
    }

    public class AudioClip : Object { }

    public class AudioBehaviour : Behaviour { }

    public sealed class AudioSource : AudioBehaviour
    {
        public AudioClip clip { get; set; }
        public bool playOnAwake { get; set; }
        public bool loop { get; set; }
        public float volume { get; set; }
        public float spatialBlend { get; set; }
        public bool isPlaying { get; private set; }

        public void Play() { isPlaying = true; }
        public void Stop() { isPlaying = false; }
    }

    public sealed class AudioSettings
    {
        public delegate void AudioConfigurationChangeHandler(bool deviceWasChanged);

        public static event AudioConfigurationChangeHandler OnAudioConfigurationChanged;

        public static int outputSampleRate { get { return UnityEngineStub.Stub.OutputSampleRate; } }

        /// <summary>Seconds of audio the mixer has processed (the stub: the test sets it).</summary>
        public static double dspTime { get { return UnityEngineStub.Stub.DspTime; } }

        internal static void RaiseConfigurationChanged(bool deviceWasChanged)
        {
            var handler = OnAudioConfigurationChanged;
            if (handler != null) handler(deviceWasChanged);
        }
    }

    public static class Time
    {
        public static float time { get { return UnityEngineStub.Stub.Time; } }
        public static float deltaTime { get { return UnityEngineStub.Stub.DeltaTime; } }
    }

    public static class Input
    {
        public static float GetAxis(string axisName) { return 0f; }
    }

    public static class Mathf
    {
        public static float Clamp01(float value) { return value < 0f ? 0f : value > 1f ? 1f : value; }
        public static float Clamp(float value, float min, float max) { return value < min ? min : value > max ? max : value; }
        public static float Min(float a, float b) { return a < b ? a : b; }
        public static float PingPong(float t, float length)
        {
            float m = t % (2 * length);
            return m <= length ? m : 2 * length - m;
        }
    }

    public static class Debug
    {
        public static void Log(object message) { UnityEngineStub.Stub.Logged("log", message); }
        public static void LogWarning(object message) { UnityEngineStub.Stub.Logged("warning", message); }
        public static void LogError(object message) { UnityEngineStub.Stub.Logged("error", message); }
    }

    public sealed class GUILayoutOption { }

    public class GUILayout
    {
        public static void BeginArea(Rect screenRect) { }
        public static void EndArea() { }
        public static void Label(string text, params GUILayoutOption[] options) { }
        public static bool Toggle(bool value, string text, params GUILayoutOption[] options) { return value; }
        public static float HorizontalSlider(float value, float leftValue, float rightValue,
                                             params GUILayoutOption[] options) { return value; }
        public static bool Button(string text, params GUILayoutOption[] options) { return false; }
        public static void BeginHorizontal(params GUILayoutOption[] options) { }
        public static void EndHorizontal() { }
    }

    public class GUIStyle { }

    public static class Application
    {
        public static bool isPlaying { get { return UnityEngineStub.Stub.IsPlaying; } }
    }

    public enum RuntimeInitializeLoadType
    {
        AfterSceneLoad = 0,
        BeforeSceneLoad = 1,
    }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
    public class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute() { }
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    public sealed class HideInInspector : Attribute { }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = true)]
    public class HeaderAttribute : Attribute
    {
        public readonly string header;
        public HeaderAttribute(string header) { this.header = header; }
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public class TooltipAttribute : Attribute
    {
        public readonly string tooltip;
        public TooltipAttribute(string tooltip) { this.tooltip = tooltip; }
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public sealed class RangeAttribute : Attribute
    {
        public readonly float min;
        public readonly float max;
        public RangeAttribute(float min, float max) { this.min = min; this.max = max; }
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute
    {
        public Type m_Type0;
        public RequireComponent(Type requiredComponent) { m_Type0 = requiredComponent; }
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
    public sealed class DisallowMultipleComponent : Attribute { }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }
}

namespace UnityEngineStub
{
    /// <summary>Test knobs of the stub (not part of Unity's API).</summary>
    public static class Stub
    {
        public static int OutputSampleRate = 48000;
        public static double DspTime;
        public static bool IsPlaying = true;
        public static float Time;
        public static float DeltaTime = 1f / 60f;
        public static readonly List<string> Log = new List<string>();

        internal static void Logged(string level, object message)
        {
            lock (Log) Log.Add(level + ": " + message);
        }

        public static void SetOutputSampleRate(int rate, bool deviceWasChanged)
        {
            OutputSampleRate = rate;
            UnityEngine.AudioSettings.RaiseConfigurationChanged(deviceWasChanged);
        }

        /// <summary>Calls a Unity message (Awake, Update, OnAudioFilterRead ...) the way the
        /// engine does: by name, public or not. Returns false when the component has none.</summary>
        public static bool Send(object component, string message, params object[] args)
        {
            var types = new Type[args.Length];
            for (int i = 0; i < args.Length; i++) types[i] = args[i].GetType();
            MethodInfo m = component.GetType().GetMethod(
                message, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, types, null);
            if (m == null) return false;
            try
            {
                m.Invoke(component, args);
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException;
            }
            return true;
        }
    }
}

namespace UnityEngine.Events
{
    /// <summary>Unity's persistent-listener event, as far as the glue uses it (runtime
    /// listeners; the inspector's persistent ones are Unity's business).</summary>
    public abstract class UnityEventBase
    {
        public int GetPersistentEventCount() { return 0; }
    }

    public delegate void UnityAction<T0>(T0 arg0);

    public class UnityEvent<T0> : UnityEventBase
    {
        readonly List<UnityAction<T0>> listeners = new List<UnityAction<T0>>();

        public void AddListener(UnityAction<T0> call) { listeners.Add(call); }
        public void RemoveListener(UnityAction<T0> call) { listeners.Remove(call); }
        public void RemoveAllListeners() { listeners.Clear(); }

        public void Invoke(T0 arg0)
        {
            foreach (var l in listeners.ToArray()) l(arg0);
        }
    }
}
