package connect

import (
	"errors"
	"testing"

	"github.com/freshetproj/freshet/pkg/source"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
)

// A failed Open returns a nil *Source; handed on as a source.Source it must
// be a nil interface, or a caller's src != nil would hold.
func TestOpenedFailureIsANilInterface(t *testing.T) {
	var failed *kafkasource.Source
	src, err := opened[source.Source](failed, errors.New("refused"))
	if err == nil || src != nil {
		t.Errorf("opened = %v, %v; want a nil source and the error", src, err)
	}
	ok := &kafkasource.Source{}
	if src, err := opened[source.Source](ok, nil); err != nil || src != source.Source(ok) {
		t.Errorf("opened = %v, %v; want the source itself", src, err)
	}
}
