// Catch2's main(), compiled once and linked into every test executable so
// each *_test.cc holds only test cases.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
