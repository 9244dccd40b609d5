module wit_component

go 1.25

require go.bytecodealliance.org/pkg v0.2.3

// The runtime package ships with factory (`factory sdk bindgen --lang go`
// writes it to ./witpkg): no module proxy is needed.
replace go.bytecodealliance.org/pkg => ./witpkg
