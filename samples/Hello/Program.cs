System.Console.WriteLine("Hello sample: under construction");
