// Package franzcompat drives franz-go (kgo and kadm), a Go client that uses the highest version
// of every API a broker advertises, against a running broker named by $BOOTSTRAP. The tests are
// compiled once by scripts/deps.sh --test and run by ctest (compat_franz_go).
package franzcompat
