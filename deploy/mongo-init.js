// Run once by the mongo-init service (mongosh, connected to mongo1 as root). Idempotent: safe to
// run again after a restart of the stack.
const members = ['mongo1:27017', 'mongo2:27017', 'mongo3:27017'];

try {
  rs.status();
  print('replica set rs0 already initiated');
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') throw error;
  rs.initiate({
    _id: 'rs0',
    // mongo1 is preferred as primary so this script (connected to it) can create the user.
    members: members.map((host, i) => ({ _id: i, host, priority: i === 0 ? 2 : 1 })),
  });
  print('replica set rs0 initiated');
}

for (let i = 0; !db.hello().isWritablePrimary; i++) {
  if (i > 120) throw new Error('mongo1 did not become primary within 60 s');
  sleep(500);
}

const admin = db.getSiblingDB('admin');
const roles = [
  { role: 'readWrite', db: 'scaikey' },
  // createIndexes, collMod for TTL indexes, dbStats: what the start-up migration needs.
  { role: 'dbAdmin', db: 'scaikey' },
];
if (admin.getUser('scaikey')) {
  admin.updateUser('scaikey', { pwd: process.env.APP_PASSWORD, roles });
  print('user scaikey updated');
} else {
  admin.createUser({ user: 'scaikey', pwd: process.env.APP_PASSWORD, roles });
  print('user scaikey created');
}
