package file

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A line without a quote or a carriage return is split as encoding/csv
// parses it, for every delimiter, whatever else the line holds (spaces,
// empty fields, the other delimiters).
func TestAQuoteFreeLineIsSplitAsCSVParsesIt(t *testing.T) {
	alphabet := []rune{'a', 'Z', '1', ' ', '\t', ',', ';', '.', '#', 'é', '\''}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, comma := range delimiters {
		c := &csvReader{comma: comma}
		for range 2000 {
			line := make([]rune, 1+rng.IntN(20))
			for i := range line {
				line[i] = alphabet[rng.IntN(len(alphabet))]
			}
			want, err := parseRecord(string(line), comma)
			if err != nil {
				t.Fatalf("encoding/csv: %q: %v", string(line), err)
			}
			got, err := c.record(string(line))
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("delimiter %q, line %q: split %q (%v), encoding/csv %q", comma, string(line), got, err, want)
			}
		}
	}
}
