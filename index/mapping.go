package index

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Field names of a chunk document.
const (
	fieldSession  = "session"
	fieldUser     = "user"
	fieldTarget   = "target"
	fieldProtocol = "protocol"
	fieldKind     = "kind"
	fieldTime     = "time" // of the chunk's first line
	fieldEnd      = "end"  // of its last line
	fieldOffset   = "offset"
	fieldText     = "text"
	fieldLines    = "lines"   // per-line offsets, see encodeOffsets
	fieldPairs    = "pairs"   // the text's word pairs, indexed only (layout 2): see rewritePhrases
	fieldRegions  = "regions" // per-line screen regions of OCR text, see encodeRegions; stored only
)

// analyzerName is the text analyzer: `_`, `.`, `:` and `'` become spaces (punctSpace) before Unicode word
// segmentation (which would keep snake_case, nginx.service, host:port and 10.0.0.1 whole), so
// "foo_bar", "foo bar" and OCR's "foo bar" for "foo_bar" all match each other, a search for nginx
// finds nginx.service, and "10.0.0.1" is still found as a phrase; then lower case. The replacement keeps byte offsets, so hit locations
// still point into the stored text.
const analyzerName = "vigil_text"

// newMapping is the index mapping: one document type, the chunk.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomAnalyzer(analyzerName, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{punctSpaceName},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	im.DefaultAnalyzer = analyzerName
	im.DefaultField = fieldText
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false

	keywordField := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, false, false
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	for _, name := range []string{fieldSession, fieldUser, fieldTarget, fieldProtocol, fieldKind} {
		doc.AddFieldMappingsAt(name, keywordField())
	}
	t := bleve.NewDateTimeFieldMapping()
	t.IncludeInAll = false
	doc.AddFieldMappingsAt(fieldTime, t) // doc values kept: sorting by time reads them
	end := bleve.NewDateTimeFieldMapping()
	end.IncludeInAll, end.Store, end.DocValues = false, false, false
	doc.AddFieldMappingsAt(fieldEnd, end)
	off := bleve.NewNumericFieldMapping()
	off.IncludeInAll, off.Index, off.DocValues = false, false, false
	doc.AddFieldMappingsAt(fieldOffset, off)
	text := bleve.NewTextFieldMapping()
	text.Analyzer = analyzerName
	text.Store = true              // the hit's line and snippet are cut from it
	text.IncludeTermVectors = true // phrases and hit locations need positions
	text.IncludeInAll, text.DocValues = false, false
	doc.AddFieldMappingsAt(fieldText, text)
	lines := bleve.NewTextFieldMapping()
	lines.Index, lines.IncludeInAll, lines.IncludeTermVectors, lines.DocValues = false, false, false, false
	doc.AddFieldMappingsAt(fieldLines, lines)
	regions := bleve.NewTextFieldMapping()
	regions.Index, regions.IncludeInAll, regions.IncludeTermVectors, regions.DocValues = false, false, false, false
	doc.AddFieldMappingsAt(fieldRegions, regions)
	im.DefaultMapping = doc
	return im, nil
}
