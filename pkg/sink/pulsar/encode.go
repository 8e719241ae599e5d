package pulsar

import (
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	pulsarsource "github.com/freshetproj/freshet/pkg/source/pulsar"
)

// encode makes the message of an event in the binding pulsarsource.Decode
// reads (rule 4): in binary mode every attribute goes in a ce_ property
// (its plain string), datacontenttype in content-type and the data in the
// payload; in structured mode the payload is the event in the JSON
// format. In both, the partitionkey extension is the key (none without
// it), so a key's messages go to one partition and, on a Key_Shared
// subscription, to one consumer; and the time attribute, when it is RFC
// 3339, is the message's event time.
func encode(e *cloudevent.Event, mode string) (*pulsar.ProducerMessage, error) {
	m := &pulsar.ProducerMessage{Key: e.Extensions[pulsarsource.PartitionKey]}
	if t, err := time.Parse(time.RFC3339Nano, e.Time); err == nil && t.UnixMilli() > 0 {
		m.EventTime = t // Pulsar keeps milliseconds since the epoch, 0 for none
	}
	if mode == v1alpha1.KafkaStructured {
		payload, err := cloudevent.MarshalJSON(e)
		if err != nil {
			return nil, err
		}
		m.Payload = payload
		m.Properties = map[string]string{pulsarsource.ContentTypeProperty: cloudevent.StructuredContentType}
		return m, nil
	}
	m.Payload = e.Data
	m.Properties = make(map[string]string, 6+len(e.Extensions))
	e.Each(func(name, value string) { m.Properties[pulsarsource.PropertyPrefix+name] = value })
	if e.DataContentType != "" {
		m.Properties[pulsarsource.ContentTypeProperty] = e.DataContentType
	}
	return m, nil
}
