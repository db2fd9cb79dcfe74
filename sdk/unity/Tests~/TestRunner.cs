// The test program: a tiny attribute-discovered test runner (no NuGet here, and Unity's
// own framework is NUnit 3) plus live scenarios run against a real `cadenza serve` by
// the Python test suite (tests/sdk/unity/) and the latency benchmark.
//
//   mono CadenzaTests.exe unit [PREFIX]     run [Test] methods whose Class.Method starts with PREFIX
//   mono CadenzaTests.exe nunit DLL         run the NUnit [Test] methods of DLL (Unity's Tests/ folders)
//   mono CadenzaTests.exe conformance ARGS  the cross-client conformance scenario (Conformance.cs)
//   mono CadenzaTests.exe probe ARGS        the inspector's Fetch scene against a server (Conformance.cs)
//   mono CadenzaTests.exe stream ARGS       stream a session, write report.json + PCM (LiveScenarios.cs)
//   mono CadenzaTests.exe glue ARGS         drive CadenzaMusic against a server (LiveScenarios.cs)
//   mono CadenzaTests.exe latency ARGS      state change → audio latency (Latency.cs)
//
// The unit runner ends with the line "N passed, N failed" and exits 1 on any failure.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Threading;

namespace Cadenza.Tests
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TestAttribute : Attribute { }

    public sealed class AssertionException : Exception
    {
        public AssertionException(string message) : base(message) { }
    }

    public static class Assert
    {
        public static void True(bool condition, string message)
        {
            if (!condition) throw new AssertionException(message);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                throw new AssertionException(what + ": expected " + expected + ", got " + actual);
        }

        public static void Near(double expected, double actual, double tolerance, string what)
        {
            if (Math.Abs(expected - actual) > tolerance)
                throw new AssertionException(what + ": expected " + expected.ToString(CultureInfo.InvariantCulture) +
                                             " ± " + tolerance.ToString(CultureInfo.InvariantCulture) + ", got " +
                                             actual.ToString(CultureInfo.InvariantCulture));
        }

        public static T Throws<T>(Action action, string what) where T : Exception
        {
            try
            {
                action();
            }
            catch (T e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionException(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name +
                                             ": " + e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        }
    }

    public static class Program
    {
        public static int Main(string[] args)
        {
            Thread.CurrentThread.CurrentCulture = CultureInfo.InvariantCulture;
            string mode = args.Length > 0 ? args[0] : "unit";
            var rest = new List<string>(args);
            if (rest.Count > 0) rest.RemoveAt(0);
            try
            {
                switch (mode)
                {
                    case "unit": return RunUnitTests(rest.Count > 0 ? rest[0] : "");
                    case "nunit": return NUnitRunner.Run(rest.Count > 0 ? rest[0] : "Cadenza.UnityTests.dll");
                    case "conformance": return Conformance.Run(Args.Parse(rest));
                    case "probe": return Conformance.Probe(Args.Parse(rest));
                    case "stream": return LiveScenarios.Stream(Args.Parse(rest));
                    case "glue": return LiveScenarios.Glue(Args.Parse(rest));
                    case "latency": return Latency.Run(Args.Parse(rest));
                    default:
                        Console.Error.WriteLine("unknown mode " + mode + "; modes: unit, nunit, conformance, stream, glue, latency");
                        return 2;
                }
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine("bad arguments: " + e.Message);
                return 2;
            }
        }

        static int RunUnitTests(string prefix)
        {
            int passed = 0, failed = 0;
            var types = new List<Type>(Assembly.GetExecutingAssembly().GetTypes());
            types.Sort((a, b) => string.CompareOrdinal(a.FullName, b.FullName));
            foreach (Type type in types)
            {
                foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.Static |
                                                              BindingFlags.Instance | BindingFlags.DeclaredOnly))
                {
                    if (method.GetCustomAttributes(typeof(TestAttribute), false).Length == 0) continue;
                    string name = type.Name + "." + method.Name;
                    if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                    try
                    {
                        object target = method.IsStatic ? null : Activator.CreateInstance(type);
                        method.Invoke(target, null);
                        Console.WriteLine("PASS " + name);
                        passed++;
                    }
                    catch (TargetInvocationException e)
                    {
                        Exception inner = e.InnerException ?? e;
                        Console.WriteLine("FAIL " + name + ": " + inner.GetType().Name + ": " + inner.Message);
                        if (!(inner is AssertionException)) Console.WriteLine(inner.StackTrace);
                        failed++;
                    }
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }

    /// <summary>--name value pairs (and bare --flags, which read as "true").</summary>
    public sealed class Args
    {
        readonly Dictionary<string, List<string>> values = new Dictionary<string, List<string>>();

        public static Args Parse(IList<string> argv)
        {
            var a = new Args();
            for (int i = 0; i < argv.Count; i++)
            {
                if (!argv[i].StartsWith("--", StringComparison.Ordinal))
                    throw new ArgumentException("expected --name, got " + argv[i]);
                string name = argv[i].Substring(2);
                string value = i + 1 < argv.Count && !argv[i + 1].StartsWith("--", StringComparison.Ordinal)
                    ? argv[++i] : "true";
                List<string> list;
                if (!a.values.TryGetValue(name, out list)) a.values[name] = list = new List<string>();
                list.Add(value);
            }
            return a;
        }

        public string Get(string name, string fallback = null)
        {
            List<string> list;
            return values.TryGetValue(name, out list) ? list[list.Count - 1] : fallback;
        }

        public string Require(string name)
        {
            string v = Get(name);
            if (v == null) throw new ArgumentException("--" + name + " is required");
            return v;
        }

        public double Number(string name, double fallback)
        {
            string v = Get(name);
            return v == null ? fallback : double.Parse(v, CultureInfo.InvariantCulture);
        }

        public IList<string> All(string name)
        {
            List<string> list;
            return values.TryGetValue(name, out list) ? list : new List<string>();
        }

        /// <summary>name=value pairs: numbers, true/false, else strings.</summary>
        public Dictionary<string, object> Values(string name)
        {
            var result = new Dictionary<string, object>();
            foreach (string pair in All(name))
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0) throw new ArgumentException("--" + name + " takes NAME=VALUE, got " + pair);
                result[pair.Substring(0, eq)] = ParseValue(pair.Substring(eq + 1));
            }
            return result;
        }

        public static object ParseValue(string text)
        {
            double d;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return (float)d;
            if (text == "true") return true;
            if (text == "false") return false;
            return text;
        }
    }
}
