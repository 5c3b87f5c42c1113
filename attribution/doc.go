// Package attribution owns SAM's data-driven attribution arithmetic: path
// transforms, Markov chains of order 1 to 3 with exact removal effects, and
// Shapley-style path credits as Google's fractribution computes them. It
// works on journeys already counted by SQL (a path and how many journeys
// took it, how many converted) and knows nothing about warehouses, SQL or
// configuration; transform's Go models feed it and write its results back.
//
// It imports the standard library only.
package attribution
