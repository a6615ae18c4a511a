--
-- PostgreSQL database dump
--

\restrict PGU0nI3KihZghMSLQATJeUn60Bzvo9xRgRiaWKuWnKsj5PTLLaEaBJpU31zccaD

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: touch(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN NEW.started := now(); RETURN NEW; END $$;


ALTER FUNCTION public.touch() OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: flow; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.flow (
    id uuid NOT NULL,
    name text NOT NULL,
    created timestamp with time zone DEFAULT now()
);


ALTER TABLE public.flow OWNER TO postgres;

--
-- Name: TABLE flow; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON TABLE public.flow IS 'flows';


--
-- Name: flow_run; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.flow_run (
    id bigint NOT NULL,
    flow_id uuid,
    state text,
    started timestamp with time zone
);


ALTER TABLE public.flow_run OWNER TO postgres;

--
-- Name: flow_run_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.flow_run_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.flow_run_id_seq OWNER TO postgres;

--
-- Name: flow_run_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.flow_run_id_seq OWNED BY public.flow_run.id;


--
-- Name: log; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.log (
    id bigint NOT NULL,
    flow_run_id bigint,
    message text
);


ALTER TABLE public.log OWNER TO postgres;

--
-- Name: log_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.log_id_seq OWNER TO postgres;

--
-- Name: log_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.log_id_seq OWNED BY public.log.id;


--
-- Name: running; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.running AS
 SELECT flow_run.id,
    flow_run.flow_id,
    flow_run.state,
    flow_run.started
   FROM public.flow_run
  WHERE (flow_run.state = 'RUNNING'::text);


ALTER TABLE public.running OWNER TO postgres;

--
-- Name: flow_run id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.flow_run ALTER COLUMN id SET DEFAULT nextval('public.flow_run_id_seq'::regclass);


--
-- Name: log id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.log ALTER COLUMN id SET DEFAULT nextval('public.log_id_seq'::regclass);


--
-- Data for Name: flow; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.flow (id, name, created) FROM stdin;
00000000-0000-0000-0000-000000000001	flow-1	2026-01-01 00:00:00+00
00000000-0000-0000-0000-000000000002	flow-2	2026-01-01 00:00:00+00
00000000-0000-0000-0000-000000000003	flow-3	2026-01-01 00:00:00+00
00000000-0000-0000-0000-000000000004	flow-4	2026-01-01 00:00:00+00
00000000-0000-0000-0000-000000000005	flow-5	2026-01-01 00:00:00+00
\.


--
-- Data for Name: flow_run; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.flow_run (id, flow_id, state, started) FROM stdin;
1	00000000-0000-0000-0000-000000000002	COMPLETED	2026-01-02 00:00:00+00
2	00000000-0000-0000-0000-000000000003	COMPLETED	2026-01-02 00:00:00+00
3	00000000-0000-0000-0000-000000000004	RUNNING	2026-01-02 00:00:00+00
4	00000000-0000-0000-0000-000000000005	COMPLETED	2026-01-02 00:00:00+00
5	00000000-0000-0000-0000-000000000001	COMPLETED	2026-01-02 00:00:00+00
6	00000000-0000-0000-0000-000000000002	RUNNING	2026-01-02 00:00:00+00
7	00000000-0000-0000-0000-000000000003	COMPLETED	2026-01-02 00:00:00+00
8	00000000-0000-0000-0000-000000000004	COMPLETED	2026-01-02 00:00:00+00
9	00000000-0000-0000-0000-000000000005	RUNNING	2026-01-02 00:00:00+00
10	00000000-0000-0000-0000-000000000001	COMPLETED	2026-01-02 00:00:00+00
11	00000000-0000-0000-0000-000000000002	COMPLETED	2026-01-02 00:00:00+00
12	00000000-0000-0000-0000-000000000003	RUNNING	2026-01-02 00:00:00+00
13	00000000-0000-0000-0000-000000000004	COMPLETED	2026-01-02 00:00:00+00
14	00000000-0000-0000-0000-000000000005	COMPLETED	2026-01-02 00:00:00+00
15	00000000-0000-0000-0000-000000000001	RUNNING	2026-01-02 00:00:00+00
16	00000000-0000-0000-0000-000000000002	COMPLETED	2026-01-02 00:00:00+00
17	00000000-0000-0000-0000-000000000003	COMPLETED	2026-01-02 00:00:00+00
18	00000000-0000-0000-0000-000000000004	RUNNING	2026-01-02 00:00:00+00
19	00000000-0000-0000-0000-000000000005	COMPLETED	2026-01-02 00:00:00+00
20	00000000-0000-0000-0000-000000000001	COMPLETED	2026-01-02 00:00:00+00
21	00000000-0000-0000-0000-000000000002	RUNNING	2026-01-02 00:00:00+00
22	00000000-0000-0000-0000-000000000003	COMPLETED	2026-01-02 00:00:00+00
23	00000000-0000-0000-0000-000000000004	COMPLETED	2026-01-02 00:00:00+00
24	00000000-0000-0000-0000-000000000005	RUNNING	2026-01-02 00:00:00+00
25	00000000-0000-0000-0000-000000000001	COMPLETED	2026-01-02 00:00:00+00
26	00000000-0000-0000-0000-000000000002	COMPLETED	2026-01-02 00:00:00+00
27	00000000-0000-0000-0000-000000000003	RUNNING	2026-01-02 00:00:00+00
28	00000000-0000-0000-0000-000000000004	COMPLETED	2026-01-02 00:00:00+00
29	00000000-0000-0000-0000-000000000005	COMPLETED	2026-01-02 00:00:00+00
30	00000000-0000-0000-0000-000000000001	RUNNING	2026-01-02 00:00:00+00
31	00000000-0000-0000-0000-000000000002	COMPLETED	2026-01-02 00:00:00+00
32	00000000-0000-0000-0000-000000000003	COMPLETED	2026-01-02 00:00:00+00
33	00000000-0000-0000-0000-000000000004	RUNNING	2026-01-02 00:00:00+00
34	00000000-0000-0000-0000-000000000005	COMPLETED	2026-01-02 00:00:00+00
35	00000000-0000-0000-0000-000000000001	COMPLETED	2026-01-02 00:00:00+00
36	00000000-0000-0000-0000-000000000002	RUNNING	2026-01-02 00:00:00+00
37	00000000-0000-0000-0000-000000000003	COMPLETED	2026-01-02 00:00:00+00
38	00000000-0000-0000-0000-000000000004	COMPLETED	2026-01-02 00:00:00+00
39	00000000-0000-0000-0000-000000000005	RUNNING	2026-01-02 00:00:00+00
40	00000000-0000-0000-0000-000000000001	COMPLETED	2026-01-02 00:00:00+00
\.


--
-- Data for Name: log; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.log (id, flow_run_id, message) FROM stdin;
1	2	message 1
2	3	message 2
3	4	message 3
4	5	message 4
5	6	message 5
6	7	message 6
7	8	message 7
8	9	message 8
9	10	message 9
10	11	message 10
11	12	message 11
12	13	message 12
13	14	message 13
14	15	message 14
15	16	message 15
16	17	message 16
17	18	message 17
18	19	message 18
19	20	message 19
20	21	message 20
21	22	message 21
22	23	message 22
23	24	message 23
24	25	message 24
25	26	message 25
26	27	message 26
27	28	message 27
28	29	message 28
29	30	message 29
30	31	message 30
31	32	message 31
32	33	message 32
33	34	message 33
34	35	message 34
35	36	message 35
36	37	message 36
37	38	message 37
38	39	message 38
39	40	message 39
40	1	message 40
41	2	message 41
42	3	message 42
43	4	message 43
44	5	message 44
45	6	message 45
46	7	message 46
47	8	message 47
48	9	message 48
49	10	message 49
50	11	message 50
51	12	message 51
52	13	message 52
53	14	message 53
54	15	message 54
55	16	message 55
56	17	message 56
57	18	message 57
58	19	message 58
59	20	message 59
60	21	message 60
61	22	message 61
62	23	message 62
63	24	message 63
64	25	message 64
65	26	message 65
66	27	message 66
67	28	message 67
68	29	message 68
69	30	message 69
70	31	message 70
71	32	message 71
72	33	message 72
73	34	message 73
74	35	message 74
75	36	message 75
76	37	message 76
77	38	message 77
78	39	message 78
79	40	message 79
80	1	message 80
81	2	message 81
82	3	message 82
83	4	message 83
84	5	message 84
85	6	message 85
86	7	message 86
87	8	message 87
88	9	message 88
89	10	message 89
90	11	message 90
91	12	message 91
92	13	message 92
93	14	message 93
94	15	message 94
95	16	message 95
96	17	message 96
97	18	message 97
98	19	message 98
99	20	message 99
100	21	message 100
101	22	message 101
102	23	message 102
103	24	message 103
104	25	message 104
105	26	message 105
106	27	message 106
107	28	message 107
108	29	message 108
109	30	message 109
110	31	message 110
111	32	message 111
112	33	message 112
113	34	message 113
114	35	message 114
115	36	message 115
116	37	message 116
117	38	message 117
118	39	message 118
119	40	message 119
120	1	message 120
121	2	message 121
122	3	message 122
123	4	message 123
124	5	message 124
125	6	message 125
126	7	message 126
127	8	message 127
128	9	message 128
129	10	message 129
130	11	message 130
131	12	message 131
132	13	message 132
133	14	message 133
134	15	message 134
135	16	message 135
136	17	message 136
137	18	message 137
138	19	message 138
139	20	message 139
140	21	message 140
141	22	message 141
142	23	message 142
143	24	message 143
144	25	message 144
145	26	message 145
146	27	message 146
147	28	message 147
148	29	message 148
149	30	message 149
150	31	message 150
151	32	message 151
152	33	message 152
153	34	message 153
154	35	message 154
155	36	message 155
156	37	message 156
157	38	message 157
158	39	message 158
159	40	message 159
160	1	message 160
161	2	message 161
162	3	message 162
163	4	message 163
164	5	message 164
165	6	message 165
166	7	message 166
167	8	message 167
168	9	message 168
169	10	message 169
170	11	message 170
171	12	message 171
172	13	message 172
173	14	message 173
174	15	message 174
175	16	message 175
176	17	message 176
177	18	message 177
178	19	message 178
179	20	message 179
180	21	message 180
181	22	message 181
182	23	message 182
183	24	message 183
184	25	message 184
185	26	message 185
186	27	message 186
187	28	message 187
188	29	message 188
189	30	message 189
190	31	message 190
191	32	message 191
192	33	message 192
193	34	message 193
194	35	message 194
195	36	message 195
196	37	message 196
197	38	message 197
198	39	message 198
199	40	message 199
200	1	message 200
\.


--
-- Name: flow_run_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.flow_run_id_seq', 40, true);


--
-- Name: log_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.log_id_seq', 200, true);


--
-- Name: flow flow_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.flow
    ADD CONSTRAINT flow_pkey PRIMARY KEY (id);


--
-- Name: flow_run flow_run_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.flow_run
    ADD CONSTRAINT flow_run_pkey PRIMARY KEY (id);


--
-- Name: log log_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.log
    ADD CONSTRAINT log_pkey PRIMARY KEY (id);


--
-- Name: flow_run_state; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX flow_run_state ON public.flow_run USING btree (state);


--
-- Name: flow_run flow_run_flow_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.flow_run
    ADD CONSTRAINT flow_run_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES public.flow(id);


--
-- PostgreSQL database dump complete
--

\unrestrict PGU0nI3KihZghMSLQATJeUn60Bzvo9xRgRiaWKuWnKsj5PTLLaEaBJpU31zccaD

