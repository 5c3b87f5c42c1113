package googleads

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sam-attribution/sam/activation"
)

var (
	firstNames = []string{"Jane", "John", "María José", "Zoë", "Øyvind", "Li Wei", "O'Brien", "Anne-Marie"}
	lastNames  = []string{"Doe", "Smith", "van der Berg", "Müller", "Nakamura", "Okafor", "De la Cruz"}
	domains    = []string{"gmail.com", "example.co.uk", "yahoo.fr", "acme-corp.com"}
)

// crmString draws a string a CRM might hold: a name, an email written out
// or plain, a phone number in some format, or a note mixing them.
func crmString(r *rand.Rand) string {
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	dom := domains[r.IntN(len(domains))]
	user := strings.ToLower(strings.ReplaceAll(first, " ", "")) + "." + strings.ToLower(strings.ReplaceAll(last, " ", ""))
	phone := fmt.Sprintf("%03d%03d%04d", 200+r.IntN(700), r.IntN(1000), r.IntN(10000))
	switch r.IntN(9) {
	case 0:
		return first + " " + last
	case 1:
		return user + "@" + dom
	case 2:
		return strings.ReplaceAll(strings.ReplaceAll(user, ".", " dot "), "@", " at ") + " at " + strings.ReplaceAll(dom, ".", " dot ")
	case 3:
		return fmt.Sprintf("+1 (%s) %s-%s", phone[:3], phone[3:6], phone[6:])
	case 4:
		return fmt.Sprintf("+44 %s %s", phone[:4], phone[4:])
	case 5:
		return fmt.Sprintf("%s.%s.%s", phone[:3], phone[3:6], phone[6:])
	case 6:
		return "+" + "49" + phone
	case 7:
		return fmt.Sprintf("Spoke to %s %s, call back on %s-%s", first, last, phone[:3], phone[3:])
	}
	return strings.ToUpper(user) + "@" + strings.ToUpper(dom)
}

// No personal data or free text placed in any string field of an event
// reaches a request body, a decision or an outcome.
func TestNoPersonalDataLeaves(t *testing.T) {
	_, srv := newSim(t)
	var mu sync.Mutex
	var bodies []string
	rec := recorder(srv.Client().Transport, func(r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, r.URL.String()+"\n"+string(body))
	})
	d := newDest(t, srv, func(o *Options) { o.HTTPClient = &http.Client{Transport: rec} })

	r := rand.New(rand.NewPCG(7, 14))
	fields := stringFields()
	var planted []string
	var send []activation.Event
	var texts []string
	for i := range 300 {
		e := ev(i, Stages[i%len(Stages)])
		v := reflect.ValueOf(&e).Elem()
		// Plant one to three strings in random string fields.
		for range 1 + r.IntN(3) {
			s := crmString(r)
			planted = append(planted, s)
			v.FieldByName(fields[r.IntN(len(fields))]).SetString(s)
		}
		dec := d.Check(e, now)
		texts = append(texts, dec.Reason)
		if dec.Send() {
			send = append(send, e)
		}
	}
	if len(send) == 0 {
		t.Fatal("nothing was sendable: the property is vacuous")
	}
	for i := 0; i < len(send); i += 50 {
		for _, o := range d.Send(context.Background(), send[i:min(i+50, len(send))]) {
			texts = append(texts, o.Detail)
		}
	}
	t.Logf("%d of 300 events sendable, %d requests", len(send), len(bodies))
	all := strings.Join(bodies, "\n") + "\n" + strings.Join(texts, "\n")
	for _, s := range planted {
		if strings.Contains(all, s) {
			t.Errorf("%q left SAM", s)
		}
	}
}

// stringFields lists Event's string-typed fields (Stage included: a
// free-text stage must not leave either).
func stringFields() []string {
	var out []string
	typ := reflect.TypeOf(activation.Event{})
	for i := range typ.NumField() {
		if typ.Field(i).Type.Kind() == reflect.String {
			out = append(out, typ.Field(i).Name)
		}
	}
	return out
}
