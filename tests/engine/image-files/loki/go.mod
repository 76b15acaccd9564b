module local/llama-telemetry-test/loki-stand-in

go 1.23

require gopkg.in/yaml.v2 v2.4.0
