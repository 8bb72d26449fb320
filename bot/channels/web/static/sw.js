/* Kanal Partisipasi web chat: shows a Web Push notification while the chat page is closed, and
   opens (or focuses) the chat when it is tapped. The notification carries only the first words of
   the message; the page shows the whole of it. */
'use strict';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener('push', function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || 'Kanal Partisipasi';
  var body = data.body || 'Ada pesan baru untuk Anda. / You have a new message.';
  event.waitUntil(self.registration.showNotification(title, {
    body: body,
    tag: data.tag || 'kanal',
    renotify: true,
    data: { url: '/' }
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (pages) {
    for (var i = 0; i < pages.length; i++) {
      if (new URL(pages[i].url).pathname === '/' && 'focus' in pages[i]) return pages[i].focus();
    }
    return self.clients.openWindow('/');
  }));
});
