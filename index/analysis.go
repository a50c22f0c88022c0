package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	// Indexes made before punctSpace name Bleve's regexp char filter in their stored mapping,
	// which must be registered for them to open.
	_ "github.com/blevesearch/bleve/v2/analysis/char/regexp"
	"github.com/blevesearch/bleve/v2/registry"
)

// punctSpaceName is a char filter that turns `_ . : '` into spaces, registered with Bleve by name
// so that an index's stored mapping finds it when it is opened. Indexes made before it did this
// with Bleve's regexp char filter, which took a tenth of the indexing time; these are ASCII bytes,
// never part of a multi-byte UTF-8 sequence, so a byte map does the same and keeps byte offsets.
// Both give the same tokens, so old and new indexes answer alike.
const punctSpaceName = "vigil_punct_space"

func init() {
	if err := registry.RegisterCharFilter(punctSpaceName, func(map[string]any, *registry.Cache) (analysis.CharFilter, error) {
		return punctSpace{}, nil
	}); err != nil {
		panic(err)
	}
}

type punctSpace struct{}

func (punctSpace) Filter(in []byte) []byte {
	out := in
	copied := false
	for i, c := range in {
		if c == '_' || c == '.' || c == ':' || c == '\'' {
			if !copied { // the input may be the caller's document text: never write to it
				out = append([]byte(nil), in...)
				copied = true
			}
			out[i] = ' '
		}
	}
	return out
}
