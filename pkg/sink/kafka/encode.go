package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
)

// encode makes the record of an event in the CloudEvents Kafka binding
// (rule 4): in binary mode every attribute goes in a ce_ header (its plain
// string, not percent-encoded), datacontenttype in content-type and the
// data in the value; in structured mode the value is the event in the JSON
// format. In both, the partitionkey extension is the key (none without
// it), so events of one key keep their order in one partition.
func encode(e *cloudevent.Event, mode string) (*kgo.Record, error) {
	r := &kgo.Record{}
	if key, ok := e.Extensions[kafkasource.PartitionKey]; ok {
		r.Key = []byte(key)
	}
	if mode == v1alpha1.KafkaStructured {
		value, err := cloudevent.MarshalJSON(e)
		if err != nil {
			return nil, err
		}
		r.Value = value
		r.Headers = []kgo.RecordHeader{{Key: kafkasource.ContentTypeHeader, Value: []byte(cloudevent.StructuredContentType)}}
		return r, nil
	}
	r.Value = e.Data
	r.Headers = make([]kgo.RecordHeader, 0, 5+len(e.Extensions))
	e.Each(func(name, value string) {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: kafkasource.HeaderPrefix + name, Value: []byte(value)})
	})
	if e.DataContentType != "" {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: kafkasource.ContentTypeHeader, Value: []byte(e.DataContentType)})
	}
	return r, nil
}
