// Command go-enrich is a sample Freshet function written with pkg/function.
// It reads JSON data {"text": "..."} and replies with a new event of type
// dev.freshet.sample.enriched whose data adds the text's length (in
// characters) and its upper-case form. Input that is not JSON with a "text"
// string is a permanent failure (422): retrying cannot fix it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/function"
)

// EnrichedType is the type of the reply events.
const EnrichedType = "dev.freshet.sample.enriched"

type input struct {
	Text *string `json:"text"`
}

type output struct {
	Text   string `json:"text"`
	Length int    `json:"length"`
	Upper  string `json:"upper"`
}

// enrich is the function's handler.
func enrich(_ context.Context, e *cloudevent.Event) (*cloudevent.Event, error) {
	var in input
	if err := json.Unmarshal(e.Data, &in); err != nil {
		return nil, function.Permanent(fmt.Errorf(`data is not JSON with a "text" string: %w`, err))
	}
	if in.Text == nil {
		return nil, function.Permanent(errors.New(`data has no "text" string`))
	}
	data, err := json.Marshal(output{Text: *in.Text, Length: utf8.RuneCountInString(*in.Text), Upper: strings.ToUpper(*in.Text)})
	if err != nil {
		return nil, fmt.Errorf("encoding reply: %w", err)
	}
	return &cloudevent.Event{
		SpecVersion:     cloudevent.SpecVersion,
		ID:              e.ID + "-enriched",
		Source:          e.Source,
		Type:            EnrichedType,
		DataContentType: "application/json",
		Extensions:      maps.Clone(e.Extensions),
		Data:            data,
	}, nil
}

func main() {
	if err := function.Serve(enrich); err != nil {
		log.Fatal(err)
	}
}
