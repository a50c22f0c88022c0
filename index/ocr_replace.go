package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
)

// DeleteKind removes a session's documents of one kind: what `vigil reindex --ocr` replaces
// (KindOCR), or a graphical session's typed lines (KindCommand), leaving the rest of the session.
func (ix *Index) DeleteKind(ctx context.Context, id string, k Kind) error {
	sq := bleve.NewTermQuery(id)
	sq.SetField(fieldSession)
	kq := bleve.NewTermQuery(string(k))
	kq.SetField(fieldKind)
	q := bleve.NewConjunctionQuery(sq, kq)
	for {
		req := bleve.NewSearchRequestOptions(q, 10000, 0, false)
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("index: delete %s of %s: %w", k, id, err)
		}
		if len(res.Hits) == 0 {
			return nil
		}
		b := ix.bi.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := ix.bi.Batch(b); err != nil {
			return fmt.Errorf("index: delete %s of %s: %w", k, id, err)
		}
	}
}

// The OCR catch-up list is kept apart from the text one (CatchUp): a text catch-up reads event
// logs in a moment, an OCR one decodes and reads a session's whole video and needs an OCR pool,
// so the two are done by different commands (`vigil reindex --catch-up`, `vigil reindex --ocr
// --catch-up`). It is a file of session ids, one a line, beside the index; only the process
// holding the index writes it, and ocrMarks orders its writers within that process.
var ocrMarks sync.Mutex

func (ix *Index) ocrCatchUpPath() string { return filepath.Join(ix.dir, "catchup-ocr") }

// MarkOCRCatchUp marks a session whose live OCR dropped work (a read the pool had no room for,
// screens its lossy reader missed): its stored video should be read again.
func (ix *Index) MarkOCRCatchUp(id string) error { return ix.setOCRCatchUp(id, true) }

// ClearOCRCatchUp removes a session's mark, once its video has been read again.
func (ix *Index) ClearOCRCatchUp(id string) error { return ix.setOCRCatchUp(id, false) }

// OCRCatchUp returns the sessions marked by MarkOCRCatchUp, sorted.
func (ix *Index) OCRCatchUp() ([]string, error) {
	ocrMarks.Lock()
	defer ocrMarks.Unlock()
	return ix.readOCRCatchUp()
}

func (ix *Index) readOCRCatchUp() ([]string, error) {
	b, err := os.ReadFile(ix.ocrCatchUpPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("index: ocr catch-up list: %w", err)
	}
	ids := strings.Fields(string(b))
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

func (ix *Index) setOCRCatchUp(id string, on bool) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n") {
		return fmt.Errorf("index: ocr catch-up: %w: session id %q", ErrBadQuery, id)
	}
	ocrMarks.Lock()
	defer ocrMarks.Unlock()
	ids, err := ix.readOCRCatchUp()
	if err != nil {
		return err
	}
	i, found := slices.BinarySearch(ids, id)
	switch {
	case on == found:
		return nil
	case on:
		ids = slices.Insert(ids, i, id)
	default:
		ids = slices.Delete(ids, i, i+1)
	}
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id)
		b.WriteByte('\n')
	}
	tmp := ix.ocrCatchUpPath() + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("index: ocr catch-up list: %w", err)
	}
	if err := os.Rename(tmp, ix.ocrCatchUpPath()); err != nil {
		return fmt.Errorf("index: ocr catch-up list: %w", err)
	}
	return nil
}
