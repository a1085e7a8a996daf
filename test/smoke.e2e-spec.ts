import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/test-app.js';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('answers health', async () => {
    const res = await t.http.get('/api/health');
    expect(res.status).toBe(200);
  });

  it('registers and logs in', async () => {
    const reg = await t.http.post('/api/register/').send({ username: 'bob', password: 'password123', email: 'b@x.io' });
    expect(reg.status).toBe(201);
    const login = await t.http.post('/api/login').send({ username: 'BOB', password: 'password123' });
    expect(login.status).toBe(200);
    const me = await t.http.get('/api/me').set('Authorization', `Bearer ${login.body.access}`);
    expect(me.body).toMatchObject({ username: 'bob' });
    const docs = await t.http.get('/api/docs-json');
    expect(Object.keys(docs.body.paths)).toContain('/api/events/{id}');
  });
});
