// The one translation unit that compiles Boost.JSON and Boost.URL (header-only mode).
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
