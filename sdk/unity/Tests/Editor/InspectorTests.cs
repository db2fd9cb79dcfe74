// Unity Test Framework (Edit Mode) tests of the CadenzaMusic inspector's actions. Also run
// on Mono by tests/sdk/unity, where the live Fetch against a real server is checked too.

using Cadenza.Unity;
using Cadenza.Unity.EditorTools;
using NUnit.Framework;
using UnityEngine;

namespace Cadenza.Tests.Editor
{
    public sealed class InspectorTests
    {
        GameObject go;

        [TearDown]
        public void DestroyTheObject()
        {
            if (go != null) Object.DestroyImmediate(go);  // edit-mode tests leave nothing in the scene
        }

        CadenzaMusic NewMusic()
        {
            go = new GameObject("Music");
            go.SetActive(false);  // no OnEnable: the component does not connect
            var music = go.AddComponent<CadenzaMusic>();
            music.playOnEnable = false;
            return music;
        }

        [Test]
        public void ApplyCopiesTheScenesInputsAndStingers()
        {
            var music = NewMusic();
            var session = new SessionInfo { Scene = "dungeon", Engine = "procedural" };
            session.InputNames.Add("biome");
            session.InputNames.Add("danger");
            session.Stingers.Add("hit");
            CadenzaInspector.Apply(music, session);
            CollectionAssert.AreEqual(new[] { "biome", "danger" }, music.sceneInputs);
            CollectionAssert.AreEqual(new[] { "hit" }, music.sceneStingers);
        }

        [Test]
        public void AFailedConnectionSaysWhatToCheck()
        {
            var music = NewMusic();
            music.address = "ws://127.0.0.1:9/v1/stream";  // nothing listens on the discard port
            var result = CadenzaInspector.FetchScene(music);
            Assert.IsFalse(result.Ok);
            Assert.AreEqual("unavailable", result.Error.Code);
            StringAssert.Contains("cadenza serve", CadenzaInspector.Describe(result));
            Assert.AreEqual(0, music.sceneStingers.Length);
        }

        [Test]
        public void UnknownSceneNamesTheScene()
        {
            var result = new SceneProbeResult { Error = new ServerError("not_found", "no scene 'x'", "scene", -1) };
            StringAssert.Contains("check the scene name", CadenzaInspector.Describe(result));
        }
    }
}
