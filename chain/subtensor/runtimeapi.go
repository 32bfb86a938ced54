package subtensor

import (
	"fmt"
)

// apiMethod returns the runtime-API method "<api>_<method>" after checking that it takes
// nargs inputs, so a runtime that changed its signature fails with a clear error.
func (m *Metadata) apiMethod(api, method string, nargs int) (*APIMethod, error) {
	am, err := m.API(api, method)
	if err != nil {
		return nil, err
	}
	if len(am.Inputs) != nargs {
		return nil, fmt.Errorf("runtime api %s_%s takes %d inputs, the client sends %d", api, method, len(am.Inputs), nargs)
	}
	return am, nil
}

// decodeAPIResult decodes a state_call result of a runtime-API method with its declared
// output type. Runtimes before 2025 wrapped results in a Vec<u8>; when the typed decode
// does not consume the input exactly, the wrapped form is tried.
func (m *Metadata) decodeAPIResult(am *APIMethod, b []byte) (any, error) {
	v, err := m.DecodeValue(am.Output, b)
	if err == nil {
		return v, nil
	}
	d := newDecoder(b)
	inner := d.byteVec()
	if d.done() == nil {
		if v, err2 := m.DecodeValue(am.Output, inner); err2 == nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("runtime api %s result: %w", am.Name, err)
}
