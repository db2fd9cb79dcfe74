// A stub of the few UnityEditor types the package's Editor/ code uses, in Unity's shapes,
// so Mono's compiler checks the inspector's signatures without a Unity install. NOT Unity:
// nothing draws; buttons never report a click.

using System;

namespace UnityEditor
{
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class CustomEditor : Attribute
    {
        public CustomEditor(Type inspectedType) { }
    }

    public class Editor : UnityEngine.Object
    {
        public UnityEngine.Object target { get; set; }
        public virtual void OnInspectorGUI() { }
        public bool DrawDefaultInspector() { return true; }
        public void Repaint() { }
    }

    public enum MessageType
    {
        None,
        Info,
        Warning,
        Error,
    }

    public static class EditorGUILayout
    {
        public static void Space() { }
        public static void LabelField(string label, UnityEngine.GUIStyle style,
                                      params UnityEngine.GUILayoutOption[] options) { }
        public static void LabelField(string label, params UnityEngine.GUILayoutOption[] options) { }
        public static void HelpBox(string message, MessageType type) { }
    }

    public static class EditorStyles
    {
        public static UnityEngine.GUIStyle boldLabel { get { return new UnityEngine.GUIStyle(); } }
    }

    public static class EditorUtility
    {
        public static void SetDirty(UnityEngine.Object target) { }
    }

    public static class Undo
    {
        public static void RecordObject(UnityEngine.Object objectToUndo, string name) { }
    }
}
