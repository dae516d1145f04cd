package providertest_test

// These tests hold the fake to OpenAI's wire format with plain HTTP, not
// with go-openai, so that the provider's tests are not the fake agreeing
// with itself.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devtunnelproxy/devproxy/server/calliope/provider"
	"github.com/devtunnelproxy/devproxy/server/calliope/provider/providertest"
)

// chunk is a chat.completion.chunk as OpenAI's API reference documents it.
type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    *int   `json:"index"`
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

// stream posts body and returns the data payloads of the event stream.
func stream(t *testing.T, url, body string) []string {
	t.Helper()
	resp, err := http.Post(url+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	var data []string
	sc := bufio.NewScanner(resp.Body)
	blank := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			blank = true
			continue
		}
		if !blank {
			t.Errorf("event %q not preceded by a blank line", line)
		}
		blank = false
		payload, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data line", line)
		}
		data = append(data, payload)
	}
	return data
}

func TestStreamWireFormat(t *testing.T) {
	f := providertest.New(t)
	f.Script(providertest.Turn{
		Text: []string{"Hel", "lo"},
		ToolCalls: []provider.ToolCall{
			{ID: "call_1", Name: "list_routes", Arguments: `{"prefix":"/app"}`},
			{ID: "call_2", Name: "probe", Arguments: `{"url":"/x"}`},
		},
		ArgumentPiece: 4,
	})
	data := stream(t, f.URL(), `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if data[len(data)-1] != "[DONE]" {
		t.Fatalf("last event %q, want [DONE]", data[len(data)-1])
	}
	var text string
	args := map[int]string{}
	ids := map[int]string{}
	var finish []string
	for i, d := range data[:len(data)-1] {
		var c chunk
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if c.Object != "chat.completion.chunk" || c.Model != "m" || !strings.HasPrefix(c.ID, "chatcmpl-") {
			t.Errorf("event %d: object %q model %q id %q", i, c.Object, c.Model, c.ID)
		}
		ch := c.Choices[0]
		if i == 0 && ch.Delta.Role != "assistant" {
			t.Errorf("first delta role %q, want assistant", ch.Delta.Role)
		}
		if ch.Delta.Content != nil {
			text += *ch.Delta.Content
		}
		for _, tc := range ch.Delta.ToolCalls {
			if tc.Index == nil {
				t.Fatalf("event %d: tool call fragment without index", i)
			}
			if tc.ID != "" {
				if tc.Type != "function" || tc.Function.Name == "" {
					t.Errorf("first fragment %+v: want type function and a name", tc)
				}
				ids[*tc.Index] = tc.ID
			}
			if len(tc.Function.Arguments) > 4 {
				t.Errorf("fragment %q longer than ArgumentPiece", tc.Function.Arguments)
			}
			args[*tc.Index] += tc.Function.Arguments
		}
		if ch.FinishReason != nil {
			finish = append(finish, *ch.FinishReason)
		}
	}
	if text != "Hello" {
		t.Errorf("text %q", text)
	}
	if ids[0] != "call_1" || ids[1] != "call_2" || args[0] != `{"prefix":"/app"}` || args[1] != `{"url":"/x"}` {
		t.Errorf("tool calls: ids %v args %v", ids, args)
	}
	if len(finish) != 1 || finish[0] != "tool_calls" {
		t.Errorf("finish reasons %v, want one tool_calls", finish)
	}
}

func TestDefaultAnswerEchoesTheQuestion(t *testing.T) {
	f := providertest.New(t)
	data := stream(t, f.URL(), `{"model":"m","stream":true,"messages":[{"role":"user","content":"why 404?"}]}`)
	var text string
	var finish string
	for _, d := range data[:len(data)-1] {
		var c chunk
		json.Unmarshal([]byte(d), &c)
		if c.Choices[0].Delta.Content != nil {
			text += *c.Choices[0].Delta.Content
		}
		if fr := c.Choices[0].FinishReason; fr != nil {
			finish = *fr
		}
	}
	if text != "fake answer to: why 404?" || finish != "stop" {
		t.Errorf("text %q finish %q", text, finish)
	}
}

func TestNonStreamedAnswer(t *testing.T) {
	f := providertest.New(t)
	f.Script(providertest.Turn{ToolCalls: []provider.ToolCall{{ID: "c", Name: "n", Arguments: `{}`}}})
	resp, err := http.Post(f.URL()+"/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Object  string
		Choices []struct {
			Message struct {
				Content   *string
				ToolCalls []struct {
					ID, Type string
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	c := out.Choices[0]
	if out.Object != "chat.completion" || c.FinishReason != "tool_calls" || c.Message.Content != nil ||
		len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "n" {
		t.Errorf("got %+v", out)
	}
}

func TestFailWithAndRecording(t *testing.T) {
	f := providertest.New(t)
	f.FailWith(503)
	for i, want := range []int{503, 200} {
		req, _ := http.NewRequest("POST", f.URL()+"/embeddings", strings.NewReader(`{"model":"e","input":["a b","c"]}`))
		req.Header.Set("Authorization", "Bearer sk-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error *struct{ Message, Type string }
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
		if want != 200 && (body.Error == nil || body.Error.Message == "") {
			t.Errorf("request %d: no OpenAI error object", i)
		}
	}
	reqs := f.Requests()
	if len(reqs) != 2 || !reqs[0].HasAuthorization || reqs[0].Header.Get("Authorization") != "" {
		t.Fatalf("recorded %+v", reqs)
	}
	if got := reqs[1].Input; len(got) != 2 || got[0] != "a b" {
		t.Errorf("input %q", got)
	}
	if f.EmbedCalls() != 1 || strings.Join(f.EmbeddedTexts(), "|") != "a b|c" {
		t.Errorf("embed calls %d texts %q", f.EmbedCalls(), f.EmbeddedTexts())
	}
}

func TestVectorIsDeterministicUnitLength(t *testing.T) {
	a, b := providertest.Vector("Vite base path"), providertest.Vector("vite BASE path!")
	var norm, dot float64
	for i := range a {
		norm += float64(a[i]) * float64(a[i])
		dot += float64(a[i]) * float64(b[i])
	}
	if len(a) != providertest.Dimensions || norm < 0.999 || norm > 1.001 || dot < 0.999 {
		t.Errorf("len %d norm %f dot %f", len(a), norm, dot)
	}
}

func TestHoldSignalsCancellation(t *testing.T) {
	f := providertest.New(t)
	f.Hold()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", f.URL()+"/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: {") {
		t.Fatalf("first line %q, %v", line, err)
	}
	select {
	case <-f.Cancelled():
		t.Fatal("cancelled before the client cancelled")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	resp.Body.Close()
	select {
	case <-f.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the fake did not see the request end")
	}
}
