// Runs the NUnit tests of Unity's Tests/Runtime and Tests/Editor folders on Mono, without
// Unity's Test Runner: [Test] methods found by attribute name (NUnit 2.6 here, NUnit 3 in
// Unity: the tests keep to the API both share), [SetUp]/[TearDown] around each.
// Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure or no test.

using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace Cadenza.Tests
{
    public static class NUnitRunner
    {
        static bool Has(MethodInfo m, string attribute)
        {
            foreach (object a in m.GetCustomAttributes(true))
                if (a.GetType().FullName == "NUnit.Framework." + attribute) return true;
            return false;
        }

        public static int Run(string path)
        {
            string full = Path.GetFullPath(path);
            Assembly assembly = Assembly.LoadFrom(full);
            int passed = 0, failed = 0;
            var types = new List<Type>(assembly.GetTypes());
            types.Sort((a, b) => string.CompareOrdinal(a.FullName, b.FullName));
            foreach (Type type in types)
            {
                var methods = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static);
                var setUps = new List<MethodInfo>();
                var tearDowns = new List<MethodInfo>();
                foreach (MethodInfo m in methods)
                {
                    if (Has(m, "SetUpAttribute")) setUps.Add(m);
                    if (Has(m, "TearDownAttribute")) tearDowns.Add(m);
                }
                foreach (MethodInfo method in methods)
                {
                    if (!Has(method, "TestAttribute")) continue;
                    string name = type.FullName + "." + method.Name;
                    object target = method.IsStatic ? null : Activator.CreateInstance(type);
                    try
                    {
                        foreach (var s in setUps) s.Invoke(target, null);
                        try
                        {
                            method.Invoke(target, null);
                        }
                        finally
                        {
                            foreach (var t in tearDowns) t.Invoke(target, null);
                        }
                        Console.WriteLine("PASS " + name);
                        passed++;
                    }
                    catch (TargetInvocationException e)
                    {
                        Exception inner = e.InnerException ?? e;
                        if (inner.GetType().Name == "SuccessException")
                        {
                            Console.WriteLine("PASS " + name);
                            passed++;
                            continue;
                        }
                        Console.WriteLine("FAIL " + name + ": " + inner.GetType().Name + ": " + inner.Message);
                        Console.WriteLine(inner.StackTrace);
                        failed++;
                    }
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }
}
