package main

// OTLP/HTTP log requests, decoded by hand: protobuf (the wire format of
// opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest) and OTLP JSON, into the few types
// below. Loki decodes them with go.opentelemetry.io/collector/pdata (plogotlp.ExportRequest
// UnmarshalProto / UnmarshalJSON); the stand-in keeps what Loki's conversion reads.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

type valueKind int

const (
	kindEmpty valueKind = iota
	kindString
	kindBool
	kindInt
	kindDouble
	kindArray
	kindMap
	kindBytes
)

type anyValue struct {
	kind    valueKind
	str     string
	boolean bool
	integer int64
	double  float64
	array   []anyValue
	kvlist  []keyValue
	bytes   []byte
}

type keyValue struct {
	key   string
	value anyValue
}

type logRecord struct {
	timeUnixNano         uint64
	observedTimeUnixNano uint64
	severityNumber       int32
	severityText         string
	body                 anyValue
	attributes           []keyValue
	droppedAttributes    uint32
	flags                uint32
	traceID              []byte
	spanID               []byte
	eventName            string // decoded; Loki 3.7.6's conversion does not keep it
}

type scopeLogs struct {
	name              string
	version           string
	attributes        []keyValue
	droppedAttributes uint32
	records           []logRecord
}

type resourceLogs struct {
	attributes []keyValue
	scopes     []scopeLogs
}

// --- AnyValue as text: pdata pcommon.Value.AsString ---------------------------------------------

func (v anyValue) asString() string {
	switch v.kind {
	case kindString:
		return v.str
	case kindBool:
		return strconv.FormatBool(v.boolean)
	case kindInt:
		return strconv.FormatInt(v.integer, 10)
	case kindDouble:
		return float64AsString(v.double)
	case kindBytes:
		return base64.StdEncoding.EncodeToString(v.bytes)
	case kindMap, kindArray:
		return marshalNoHTMLEscape(v.raw())
	}
	return ""
}

// raw: pcommon.Value.AsRaw (maps become Go maps, so encoding/json sorts their keys).
func (v anyValue) raw() interface{} {
	switch v.kind {
	case kindString:
		return v.str
	case kindBool:
		return v.boolean
	case kindInt:
		return v.integer
	case kindDouble:
		return v.double
	case kindBytes:
		return v.bytes
	case kindArray:
		out := make([]interface{}, 0, len(v.array))
		for _, item := range v.array {
			out = append(out, item.raw())
		}
		return out
	case kindMap:
		out := make(map[string]interface{}, len(v.kvlist))
		for _, kv := range v.kvlist {
			out[kv.key] = kv.value.raw()
		}
		return out
	}
	return nil
}

func marshalNoHTMLEscape(value interface{}) string {
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	_ = encoder.Encode(value)
	return strings.TrimRight(buf.String(), "\n")
}

// float64AsString: pcommon's ES6 number formatting (what encoding/json does for finite numbers).
func float64AsString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	text, _ := json.Marshal(f)
	return string(text)
}

// --- protobuf ----------------------------------------------------------------------------------------

type wire struct {
	data []byte
	pos  int
}

var errTruncated = errors.New("proto: unexpected end of data")

func (w *wire) done() bool { return w.pos >= len(w.data) }

func (w *wire) varint() (uint64, error) {
	var value uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if w.pos >= len(w.data) {
			return 0, errTruncated
		}
		b := w.data[w.pos]
		w.pos++
		value |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return value, nil
		}
	}
	return 0, errors.New("proto: integer overflow")
}

func (w *wire) tag() (int, int, error) {
	key, err := w.varint()
	if err != nil {
		return 0, 0, err
	}
	if key>>3 == 0 {
		return 0, 0, errors.New("proto: illegal field number 0")
	}
	return int(key >> 3), int(key & 7), nil
}

func (w *wire) fixed64() (uint64, error) {
	if w.pos+8 > len(w.data) {
		return 0, errTruncated
	}
	value := binary.LittleEndian.Uint64(w.data[w.pos:])
	w.pos += 8
	return value, nil
}

func (w *wire) fixed32() (uint32, error) {
	if w.pos+4 > len(w.data) {
		return 0, errTruncated
	}
	value := binary.LittleEndian.Uint32(w.data[w.pos:])
	w.pos += 4
	return value, nil
}

func (w *wire) bytes() ([]byte, error) {
	n, err := w.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(w.data)-w.pos) {
		return nil, errTruncated
	}
	value := w.data[w.pos : w.pos+int(n)]
	w.pos += int(n)
	return value, nil
}

func (w *wire) skip(wireType int) error {
	var err error
	switch wireType {
	case 0:
		_, err = w.varint()
	case 1:
		_, err = w.fixed64()
	case 2:
		_, err = w.bytes()
	case 5:
		_, err = w.fixed32()
	default:
		err = fmt.Errorf("proto: illegal wireType %d", wireType)
	}
	return err
}

// fields walks a message: fn gets each field (number, wire type) and reads it; unknown fields are skipped.
func fields(data []byte, fn func(w *wire, field, wireType int) (bool, error)) error {
	w := &wire{data: data}
	for !w.done() {
		field, wireType, err := w.tag()
		if err != nil {
			return err
		}
		handled, err := fn(w, field, wireType)
		if err != nil {
			return err
		}
		if !handled {
			if err := w.skip(wireType); err != nil {
				return err
			}
		}
	}
	return nil
}

func expectWireType(field, got, want int) error {
	if got != want {
		return fmt.Errorf("proto: wrong wireType = %d for field %d", got, field)
	}
	return nil
}

func decodeProtoRequest(data []byte) ([]resourceLogs, error) {
	var out []resourceLogs
	err := fields(data, func(w *wire, field, wireType int) (bool, error) {
		if field != 1 { // resource_logs
			return false, nil
		}
		if err := expectWireType(field, wireType, 2); err != nil {
			return true, err
		}
		raw, err := w.bytes()
		if err != nil {
			return true, err
		}
		rl, err := decodeProtoResourceLogs(raw)
		out = append(out, rl)
		return true, err
	})
	return out, err
}

func decodeProtoResourceLogs(data []byte) (resourceLogs, error) {
	var rl resourceLogs
	err := fields(data, func(w *wire, field, wireType int) (bool, error) {
		switch field {
		case 1: // resource
			raw, err := lengthDelimited(w, field, wireType)
			if err != nil {
				return true, err
			}
			return true, fields(raw, func(w *wire, field, wireType int) (bool, error) {
				if field != 1 { // attributes
					return false, nil
				}
				kv, err := decodeProtoKeyValueField(w, field, wireType)
				rl.attributes = append(rl.attributes, kv)
				return true, err
			})
		case 2: // scope_logs
			raw, err := lengthDelimited(w, field, wireType)
			if err != nil {
				return true, err
			}
			scope, err := decodeProtoScopeLogs(raw)
			rl.scopes = append(rl.scopes, scope)
			return true, err
		}
		return false, nil
	})
	return rl, err
}

func decodeProtoScopeLogs(data []byte) (scopeLogs, error) {
	var sl scopeLogs
	err := fields(data, func(w *wire, field, wireType int) (bool, error) {
		switch field {
		case 1: // scope: InstrumentationScope
			raw, err := lengthDelimited(w, field, wireType)
			if err != nil {
				return true, err
			}
			return true, fields(raw, func(w *wire, field, wireType int) (bool, error) {
				switch field {
				case 1:
					value, err := stringField(w, field, wireType)
					sl.name = value
					return true, err
				case 2:
					value, err := stringField(w, field, wireType)
					sl.version = value
					return true, err
				case 3:
					kv, err := decodeProtoKeyValueField(w, field, wireType)
					sl.attributes = append(sl.attributes, kv)
					return true, err
				case 4:
					value, err := varintField(w, field, wireType)
					sl.droppedAttributes = uint32(value)
					return true, err
				}
				return false, nil
			})
		case 2: // log_records
			raw, err := lengthDelimited(w, field, wireType)
			if err != nil {
				return true, err
			}
			record, err := decodeProtoLogRecord(raw)
			sl.records = append(sl.records, record)
			return true, err
		}
		return false, nil
	})
	return sl, err
}

func decodeProtoLogRecord(data []byte) (logRecord, error) {
	var lr logRecord
	err := fields(data, func(w *wire, field, wireType int) (bool, error) {
		var err error
		switch field {
		case 1: // time_unix_nano, fixed64
			if err = expectWireType(field, wireType, 1); err == nil {
				lr.timeUnixNano, err = w.fixed64()
			}
		case 11: // observed_time_unix_nano, fixed64
			if err = expectWireType(field, wireType, 1); err == nil {
				lr.observedTimeUnixNano, err = w.fixed64()
			}
		case 2: // severity_number, enum
			var value uint64
			value, err = varintField(w, field, wireType)
			lr.severityNumber = int32(value)
		case 3:
			lr.severityText, err = stringField(w, field, wireType)
		case 5: // body
			var raw []byte
			if raw, err = lengthDelimited(w, field, wireType); err == nil {
				lr.body, err = decodeProtoAnyValue(raw)
			}
		case 6:
			var kv keyValue
			kv, err = decodeProtoKeyValueField(w, field, wireType)
			lr.attributes = append(lr.attributes, kv)
		case 7:
			var value uint64
			value, err = varintField(w, field, wireType)
			lr.droppedAttributes = uint32(value)
		case 8: // flags, fixed32
			if err = expectWireType(field, wireType, 5); err == nil {
				lr.flags, err = w.fixed32()
			}
		case 9:
			lr.traceID, err = idField(w, field, wireType, 16)
		case 10:
			lr.spanID, err = idField(w, field, wireType, 8)
		case 12:
			lr.eventName, err = stringField(w, field, wireType)
		default:
			return false, nil
		}
		return true, err
	})
	return lr, err
}

func decodeProtoKeyValueField(w *wire, field, wireType int) (keyValue, error) {
	raw, err := lengthDelimited(w, field, wireType)
	if err != nil {
		return keyValue{}, err
	}
	return decodeProtoKeyValue(raw)
}

func decodeProtoKeyValue(data []byte) (keyValue, error) {
	var kv keyValue
	err := fields(data, func(w *wire, field, wireType int) (bool, error) {
		switch field {
		case 1:
			value, err := stringField(w, field, wireType)
			kv.key = value
			return true, err
		case 2:
			raw, err := lengthDelimited(w, field, wireType)
			if err != nil {
				return true, err
			}
			kv.value, err = decodeProtoAnyValue(raw)
			return true, err
		}
		return false, nil
	})
	return kv, err
}

func decodeProtoAnyValue(data []byte) (anyValue, error) {
	var v anyValue
	err := fields(data, func(w *wire, field, wireType int) (bool, error) {
		var err error
		switch field {
		case 1:
			v.kind = kindString
			v.str, err = stringField(w, field, wireType)
		case 2:
			var value uint64
			value, err = varintField(w, field, wireType)
			v.kind, v.boolean = kindBool, value != 0
		case 3:
			var value uint64
			value, err = varintField(w, field, wireType)
			v.kind, v.integer = kindInt, int64(value)
		case 4:
			if err = expectWireType(field, wireType, 1); err == nil {
				var bits uint64
				bits, err = w.fixed64()
				v.kind, v.double = kindDouble, math.Float64frombits(bits)
			}
		case 5, 6: // array_value (ArrayValue.values) / kvlist_value (KeyValueList.values)
			var raw []byte
			if raw, err = lengthDelimited(w, field, wireType); err != nil {
				return true, err
			}
			if field == 5 {
				v.kind, v.array = kindArray, []anyValue{}
			} else {
				v.kind, v.kvlist = kindMap, []keyValue{}
			}
			err = fields(raw, func(w *wire, inner, innerType int) (bool, error) {
				if inner != 1 {
					return false, nil
				}
				item, err := lengthDelimited(w, inner, innerType)
				if err != nil {
					return true, err
				}
				if field == 5 {
					value, err := decodeProtoAnyValue(item)
					v.array = append(v.array, value)
					return true, err
				}
				kv, err := decodeProtoKeyValue(item)
				v.kvlist = append(v.kvlist, kv)
				return true, err
			})
		case 7:
			var raw []byte
			raw, err = lengthDelimited(w, field, wireType)
			v.kind, v.bytes = kindBytes, append([]byte{}, raw...)
		default:
			return false, nil
		}
		return true, err
	})
	return v, err
}

func lengthDelimited(w *wire, field, wireType int) ([]byte, error) {
	if err := expectWireType(field, wireType, 2); err != nil {
		return nil, err
	}
	return w.bytes()
}

func stringField(w *wire, field, wireType int) (string, error) {
	raw, err := lengthDelimited(w, field, wireType)
	return string(raw), err
}

func varintField(w *wire, field, wireType int) (uint64, error) {
	if err := expectWireType(field, wireType, 0); err != nil {
		return 0, err
	}
	return w.varint()
}

// idField: pdata's TraceID/SpanID take exactly 16/8 bytes (or none).
func idField(w *wire, field, wireType, size int) ([]byte, error) {
	raw, err := lengthDelimited(w, field, wireType)
	if err != nil {
		return nil, err
	}
	if len(raw) != 0 && len(raw) != size {
		return nil, fmt.Errorf("invalid length for ID: %d", len(raw))
	}
	return append([]byte{}, raw...), nil
}

// --- OTLP JSON ---------------------------------------------------------------------------------------

// jsonObject: one object of an OTLP JSON request. pdata accepts each field in lowerCamelCase (the OTLP
// JSON spelling) and in its protobuf snake_case name.
type jsonObject map[string]interface{}

func (o jsonObject) get(camel string) (interface{}, bool) {
	if value, ok := o[camel]; ok {
		return value, true
	}
	var snake strings.Builder
	for _, r := range camel {
		if r >= 'A' && r <= 'Z' {
			snake.WriteByte('_')
			r += 'a' - 'A'
		}
		snake.WriteRune(r)
	}
	value, ok := o[snake.String()]
	return value, ok
}

func (o jsonObject) objects(camel string) []jsonObject {
	value, _ := o.get(camel)
	items, _ := value.([]interface{})
	var out []jsonObject
	for _, item := range items {
		if m, ok := item.(map[string]interface{}); ok {
			out = append(out, jsonObject(m))
		}
	}
	return out
}

func (o jsonObject) object(camel string) jsonObject {
	value, _ := o.get(camel)
	m, _ := value.(map[string]interface{})
	return jsonObject(m)
}

func (o jsonObject) str(camel string) string {
	value, _ := o.get(camel)
	text, _ := value.(string)
	return text
}

// uint: OTLP JSON writes 64-bit integers as strings; numbers are accepted too.
func (o jsonObject) uint(camel string) (uint64, error) {
	value, ok := o.get(camel)
	if !ok || value == nil {
		return 0, nil
	}
	switch v := value.(type) {
	case json.Number:
		return strconv.ParseUint(v.String(), 10, 64)
	case string:
		return strconv.ParseUint(v, 10, 64)
	}
	return 0, fmt.Errorf("%s: not an integer", camel)
}

func decodeJSONRequest(data []byte) ([]resourceLogs, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var root map[string]interface{}
	if err := decoder.Decode(&root); err != nil {
		return nil, err
	}
	var out []resourceLogs
	for _, rlJSON := range jsonObject(root).objects("resourceLogs") {
		var rl resourceLogs
		attrs, err := decodeJSONAttributes(rlJSON.object("resource").objects("attributes"))
		if err != nil {
			return nil, err
		}
		rl.attributes = attrs
		for _, slJSON := range rlJSON.objects("scopeLogs") {
			scope := slJSON.object("scope")
			sl := scopeLogs{name: scope.str("name"), version: scope.str("version")}
			if sl.attributes, err = decodeJSONAttributes(scope.objects("attributes")); err != nil {
				return nil, err
			}
			dropped, err := scope.uint("droppedAttributesCount")
			if err != nil {
				return nil, err
			}
			sl.droppedAttributes = uint32(dropped)
			for _, lrJSON := range slJSON.objects("logRecords") {
				record, err := decodeJSONLogRecord(lrJSON)
				if err != nil {
					return nil, err
				}
				sl.records = append(sl.records, record)
			}
			rl.scopes = append(rl.scopes, sl)
		}
		out = append(out, rl)
	}
	return out, nil
}

// severityNames: opentelemetry.proto.logs.v1.SeverityNumber, which OTLP JSON may give by name.
var severityNames = map[string]int32{"SEVERITY_NUMBER_UNSPECIFIED": 0}

func init() {
	for i, name := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		for j := 1; j <= 4; j++ {
			suffix := ""
			if j > 1 {
				suffix = strconv.Itoa(j)
			}
			severityNames["SEVERITY_NUMBER_"+name+suffix] = int32(i*4 + j)
		}
	}
}

func decodeJSONLogRecord(o jsonObject) (logRecord, error) {
	var lr logRecord
	var err error
	if lr.timeUnixNano, err = o.uint("timeUnixNano"); err != nil {
		return lr, err
	}
	if lr.observedTimeUnixNano, err = o.uint("observedTimeUnixNano"); err != nil {
		return lr, err
	}
	if value, ok := o.get("severityNumber"); ok {
		switch v := value.(type) {
		case json.Number:
			n, err := strconv.ParseInt(v.String(), 10, 32)
			if err != nil {
				return lr, err
			}
			lr.severityNumber = int32(n)
		case string:
			n, known := severityNames[v]
			if !known {
				return lr, fmt.Errorf("unknown severityNumber %q", v)
			}
			lr.severityNumber = n
		}
	}
	lr.severityText = o.str("severityText")
	lr.eventName = o.str("eventName")
	if body, ok := o.get("body"); ok {
		if m, ok := body.(map[string]interface{}); ok {
			if lr.body, err = decodeJSONAnyValue(jsonObject(m)); err != nil {
				return lr, err
			}
		}
	}
	if lr.attributes, err = decodeJSONAttributes(o.objects("attributes")); err != nil {
		return lr, err
	}
	dropped, err := o.uint("droppedAttributesCount")
	if err != nil {
		return lr, err
	}
	lr.droppedAttributes = uint32(dropped)
	flags, err := o.uint("flags")
	if err != nil {
		return lr, err
	}
	lr.flags = uint32(flags)
	// OTLP JSON spells trace and span IDs in hex (not base64).
	for _, id := range []struct {
		name string
		size int
		dst  *[]byte
	}{{"traceId", 16, &lr.traceID}, {"spanId", 8, &lr.spanID}} {
		text := o.str(id.name)
		if text == "" {
			continue
		}
		raw, err := hex.DecodeString(text)
		if err != nil || len(raw) != id.size {
			return lr, fmt.Errorf("invalid length for ID: %q", text)
		}
		*id.dst = raw
	}
	return lr, nil
}

func decodeJSONAttributes(items []jsonObject) ([]keyValue, error) {
	var out []keyValue
	for _, item := range items {
		kv := keyValue{key: item.str("key")}
		if value := item.object("value"); value != nil {
			v, err := decodeJSONAnyValue(value)
			if err != nil {
				return nil, err
			}
			kv.value = v
		}
		out = append(out, kv)
	}
	return out, nil
}

func decodeJSONAnyValue(o jsonObject) (anyValue, error) {
	if value, ok := o.get("stringValue"); ok {
		text, _ := value.(string)
		return anyValue{kind: kindString, str: text}, nil
	}
	if value, ok := o.get("boolValue"); ok {
		b, _ := value.(bool)
		return anyValue{kind: kindBool, boolean: b}, nil
	}
	if value, ok := o.get("intValue"); ok {
		var text string
		switch v := value.(type) {
		case json.Number:
			text = v.String()
		case string:
			text = v
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return anyValue{}, fmt.Errorf("intValue: %w", err)
		}
		return anyValue{kind: kindInt, integer: n}, nil
	}
	if value, ok := o.get("doubleValue"); ok {
		var f float64
		switch v := value.(type) {
		case json.Number:
			f, _ = v.Float64()
		case string: // "NaN", "Infinity", "-Infinity"
			switch v {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				f, _ = strconv.ParseFloat(v, 64)
			}
		}
		return anyValue{kind: kindDouble, double: f}, nil
	}
	if _, ok := o.get("arrayValue"); ok {
		out := anyValue{kind: kindArray, array: []anyValue{}}
		values, _ := o.object("arrayValue").get("values")
		items, _ := values.([]interface{})
		for _, item := range items {
			m, _ := item.(map[string]interface{})
			v, err := decodeJSONAnyValue(jsonObject(m))
			if err != nil {
				return anyValue{}, err
			}
			out.array = append(out.array, v)
		}
		return out, nil
	}
	if _, ok := o.get("kvlistValue"); ok {
		kvs, err := decodeJSONAttributes(o.object("kvlistValue").objects("values"))
		if err != nil {
			return anyValue{}, err
		}
		if kvs == nil {
			kvs = []keyValue{}
		}
		return anyValue{kind: kindMap, kvlist: kvs}, nil
	}
	if value, ok := o.get("bytesValue"); ok {
		text, _ := value.(string)
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return anyValue{}, fmt.Errorf("bytesValue: %w", err)
		}
		return anyValue{kind: kindBytes, bytes: raw}, nil
	}
	return anyValue{}, nil
}
