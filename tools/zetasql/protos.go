package zetasql

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// serviceName is the full name of the local service in its .proto file.
const serviceName = "zetasql.local_service.ZetaSqlLocalService"

// api holds the service's method descriptors, compiled at run time from the
// .proto files installed next to the binary.
type api struct {
	methods map[string]protoreflect.MethodDescriptor
	types   *dynamicpb.Types
}

// loadAPI compiles local_service.proto and everything it imports from dir
// (the installed protos folder; imports are relative to it, except
// google/protobuf/*, which protocompile supplies).
func loadAPI(ctx context.Context, dir string) (*api, error) {
	const root = "local_service.proto"
	if _, err := os.Stat(filepath.Join(dir, root)); err != nil {
		return nil, fmt.Errorf("zetasql protos: %w (install them with tools/zetasql/install.sh)", err)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{dir}}),
	}
	files, err := c.Compile(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("compile zetasql protos in %s: %w", dir, err)
	}
	svc := files[0].Services().ByName("ZetaSqlLocalService")
	if svc == nil {
		return nil, fmt.Errorf("compile zetasql protos in %s: service %s not found", dir, serviceName)
	}
	reg := new(protoregistry.Files)
	var register func(fd protoreflect.FileDescriptor) error
	register = func(fd protoreflect.FileDescriptor) error {
		if _, err := reg.FindFileByPath(fd.Path()); err == nil {
			return nil
		}
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			if err := register(imports.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return reg.RegisterFile(fd)
	}
	if err := register(files[0]); err != nil {
		return nil, fmt.Errorf("register zetasql protos: %w", err)
	}
	a := &api{methods: map[string]protoreflect.MethodDescriptor{}, types: dynamicpb.NewTypes(reg)}
	ms := svc.Methods()
	for i := 0; i < ms.Len(); i++ {
		m := ms.Get(i)
		a.methods[string(m.Name())] = m
	}
	return a, nil
}

// call invokes a unary method. req is any value encoding/json can marshal
// into the request message's JSON form (field names as in the .proto file,
// enums by name); resp, when non-nil, receives the response's JSON form
// (field names as in the .proto file, 64-bit integers as strings).
func (c *Client) call(ctx context.Context, method string, req, resp any) error {
	out, err := c.invoke(ctx, method, req)
	if err != nil || resp == nil {
		return err
	}
	if err := c.decode(out, resp); err != nil {
		return fmt.Errorf("zetasql %s: %w", method, err)
	}
	return nil
}

// invoke is call without decoding: it returns the response message, for
// callers that read a few fields of a large response (a resolved AST)
// directly instead of converting all of it.
func (c *Client) invoke(ctx context.Context, method string, req any) (*dynamicpb.Message, error) {
	m, ok := c.api.methods[method]
	if !ok {
		return nil, fmt.Errorf("zetasql: the installed protos have no method %s", method)
	}
	in := dynamicpb.NewMessage(m.Input())
	js, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("zetasql %s: encode request: %w", method, err)
	}
	if err := (protojson.UnmarshalOptions{Resolver: c.api.types}).Unmarshal(js, in); err != nil {
		return nil, fmt.Errorf("zetasql %s: build request: %w", method, err)
	}
	out := dynamicpb.NewMessage(m.Output())
	path := "/" + serviceName + "/" + method
	if err := c.conn.Invoke(ctx, path, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// decode converts a message into v through its JSON form (field names as in
// the .proto file, 64-bit integers as strings).
func (c *Client) decode(msg proto.Message, v any) error {
	js, err := (protojson.MarshalOptions{UseProtoNames: true, Resolver: c.api.types}).Marshal(msg)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
